import { MAX_SCENARIO_PLANS } from '../api/limits.ts';
import type { Bilingual } from './api/types.ts';

export type Lang = 'zh' | 'en';
export const LANGS: readonly Lang[] = ['zh', 'en'];

/** Every UI label in Chinese (default) and English. */
const STRINGS = {
  title: { zh: '成都15分钟社区生活圈', en: 'Chengdu 15-minute life circles' },
  subtitle: { zh: '沿真实街道网络的步行距离', en: 'Walking distance over the real street network' },
  ruleSet: { zh: '标准', en: 'Standard' },
  dataset: { zh: '数据集', en: 'Dataset' },
  category: { zh: '设施', en: 'Facility' },
  worstOfAll: { zh: '全部（最差项）', en: 'Worst of all' },
  level: { zh: '统计单元', en: 'Areas' },
  level_community: { zh: '社区', en: 'Communities' },
  level_residential_area: { zh: '小区', en: 'Residential areas' },
  level_street: { zh: '街道', en: 'Streets' },
  level_district: { zh: '区', en: 'Districts' },
  levelNone: { zh: '无数据', en: 'no data' },
  language: { zh: 'English', en: '中文' },
  languageSwitch: { zh: '切换语言', en: 'Switch language' },
  tab_point: { zh: '点查询', en: 'Point' },
  tab_audit: { zh: '达标审计', en: 'Audit' },
  tab_plans: { zh: '两拆一增', en: 'Plans' },
  tab_scenario: { zh: '情景评估', en: 'Scenario' },
  loading: { zh: '加载中…', en: 'Loading…' },
  loadingMap: { zh: '地图加载中…', en: 'Loading map…' },
  error: { zh: '出错', en: 'Error' },
  sample: { zh: '示例', en: 'sample' },
  estimate: { zh: '估算', en: 'estimate' },
  approximate: { zh: '近似', en: 'approx.' },
  sampleData: { zh: '示例数据：非真实城市', en: 'Sample data: not a real city' },
  sampleFacilitiesNote: { zh: '依赖示例设施', en: 'depends on sample facilities' },
  unnamed: { zh: '未命名', en: 'unnamed' },
  layers: { zh: '图层', en: 'Layers' },
  layer_network: { zh: '街道步行距离', en: 'Street walking distance' },
  layer_areas: { zh: '达标情况', en: 'Coverage of areas' },
  layer_facilities: { zh: '设施', en: 'Facilities' },
  layer_plans: { zh: '规划', en: 'Plans' },
  legend: { zh: '图例', en: 'Legend' },
  rule: { zh: '条款', en: 'Rule' },
  streetsAnySize: {
    zh: '街道颜色：到最近{category}的距离（不论面积）；区域颜色按本条款判定',
    en: 'Streets: distance to the nearest {category} of any size; areas are judged by this rule',
  },
  barriersTitle: { zh: '围墙与封闭小区', en: 'Walls and gated compounds' },
  barrierWall: { zh: '围墙/栅栏', en: 'wall / fence' },
  barrierGated: { zh: '封闭小区', en: 'gated compound' },
  barrierGate: { zh: '小区门', en: 'gate' },
  fontMissing: {
    zh: '中文字体未能加载，中文可能显示为方框',
    en: 'The Chinese font failed to load; Chinese text may show as boxes',
  },
  noRuleForCategory: {
    zh: '该标准未对此类设施设定距离；以15分钟步行 1000 米为参考',
    en: 'This standard sets no distance for this facility; the 15-minute walk (1000 m) is shown for reference',
  },
  target: { zh: '目标', en: 'target' },
  limit: { zh: '限值', en: 'limit' },
  walkToNearest: { zh: '到最近设施的步行距离', en: 'Walk to the nearest facility' },
  worstRatio: { zh: '各规则中最差的 距离÷限值', en: 'Worst distance ÷ limit over the rules' },
  outcome_beyond_cap: { zh: '超出 {cap} 米', en: 'beyond {cap} m' },
  outcome_no_path: { zh: '无路可达（所在路网中无此类设施）', en: 'no path (none in this piece of the network)' },
  outcome_no_data: { zh: '无数据（数据中无此类设施）', en: 'no data (none of this kind in the data)' },
  skippedRules: {
    zh: '无法评估（数据中无此类设施），不计达标与着色',
    en: 'Not assessable (no such facilities in the data), left out of pass/fail and the colours',
  },
  notAssessable: { zh: '无法评估', en: 'not assessable' },
  notAssessableMessage: {
    zh: '无法评估——数据中没有{what}；请导入登记表',
    en: 'not assessable — no {what} in the data; import a register',
  },
  edgeOfData: { zh: '数据边缘', en: 'edge of data' },
  edgeOfDataNote: {
    zh: '未覆盖居民位于数据边缘附近：范围外的设施可能服务他们',
    en: 'Uncovered residents lie near the edge of the data: facilities outside the extract may serve them',
  },
  networkNote: { zh: '街道着色不计最小面积要求', en: 'Street colours ignore minimum-size tiers' },
  areaShare: { zh: '覆盖人口比例', en: 'Share of residents covered' },
  passes: { zh: '达标', en: 'meets' },
  fails: { zh: '未达标', en: 'below' },
  failsCount: { zh: '未达标规则数', en: 'rules failed' },
  facilitiesSampleRing: { zh: '空心圆 = 示例设施', en: 'hollow ring = sample facility' },
  plan_kind_demolish_illegal: { zh: '拆除违建', en: 'Demolish illegal building' },
  plan_kind_demolish_wall: { zh: '拆除围墙', en: 'Remove wall' },
  plan_kind_add_open_space: { zh: '增加开敞空间', en: 'Add open space' },
  plan_status_proposed: { zh: '拟议', en: 'proposed' },
  plan_status_approved: { zh: '已批准', en: 'approved' },
  plan_status_done: { zh: '已完成', en: 'done' },
  // Point panel
  clickHint: {
    zh: '点击地图任意位置，查看到各类设施的步行距离。',
    en: 'Click anywhere on the map to see walking distances to each kind of facility.',
  },
  snapped: { zh: '已吸附到街道，偏移', en: 'Snapped to the street network,' },
  facility: { zh: '最近设施', en: 'Nearest facility' },
  network: { zh: '路网', en: 'network' },
  straight: { zh: '直线', en: 'straight' },
  minutes: { zh: '分钟', en: 'min' },
  meets: { zh: '达标', en: 'Target' },
  noFacility: { zh: '无', en: 'none' },
  insideFacility: { zh: '在其内', en: 'inside it' },
  noRule: { zh: '无规则', en: 'no rule' },
  isochrone: { zh: '等时圈', en: 'Isochrone' },
  off: { zh: '关', en: 'off' },
  reachedLength: { zh: '可达街道长度', en: 'reached street length' },
  walkSpeedNote: { zh: '按步速 4 km/h（66.7 米/分钟）计', en: 'at 4 km/h (66.7 m/min)' },
  // Audit
  failingOnly: { zh: '只看未达标', en: 'Failing only' },
  all: { zh: '全部', en: 'All' },
  filterDistrict: { zh: '区', en: 'District' },
  filterStreet: { zh: '街道', en: 'Street' },
  placeFilterNone: {
    zh: '导入社区或区的边界后可按区、街道筛选',
    en: 'Import community or district boundaries to filter by them',
  },
  name: { zh: '名称', en: 'Name' },
  population: { zh: '人口', en: 'Population' },
  notCovered: { zh: '未覆盖居民', en: 'Residents not covered' },
  export: { zh: '导出', en: 'Export' },
  auditCsv: { zh: '审计 CSV', en: 'Audit CSV' },
  auditGeoJson: { zh: '审计 GeoJSON', en: 'Audit GeoJSON' },
  coverageCsv: { zh: '覆盖 CSV', en: 'Coverage CSV' },
  coverageGeoJson: { zh: '覆盖 GeoJSON', en: 'Coverage GeoJSON' },
  citySummary: {
    zh: '全市人口加权覆盖率（小区汇总）',
    en: 'City-wide population-weighted coverage (from residential areas)',
  },
  filteredSummary: {
    zh: '{place} 人口加权覆盖率（{n} 个{level}汇总）',
    en: '{place}: population-weighted coverage (from {n} {level})',
  },
  exportFiltered: { zh: '导出仅含筛选范围', en: 'exports hold the filtered areas only' },
  networkVsStraight: { zh: '路网 / 直线', en: 'network / straight line' },
  rows: { zh: '行', en: 'rows' },
  noRows: { zh: '没有符合条件的区域', en: 'No areas match' },
  sortHint: { zh: '点击表头排序；点击行定位', en: 'Click a header to sort; click a row to zoom to it' },
  straightGap: { zh: '直线距离会高估覆盖', en: 'Straight-line distance overstates coverage' },
  // Plans
  token: { zh: '规划令牌', en: 'Planner token' },
  tokenPlaceholder: { zh: '粘贴令牌（仅保存在本标签页）', en: 'Paste a token (kept in this tab only)' },
  tokenSave: { zh: '使用', en: 'Use' },
  tokenClear: { zh: '清除', en: 'Clear' },
  tokenSet: { zh: '已设置令牌', en: 'Token set' },
  tokenNeeded: { zh: '需要规划令牌才能新增、修改或删除。', en: 'A planner token is needed to add, change or delete.' },
  drawPolygon: { zh: '画地块', en: 'Draw site' },
  drawLine: { zh: '画围墙线', en: 'Draw wall' },
  drawHintPolygon: {
    zh: '依次点击顶点；点击第一个顶点闭合，Esc 取消。',
    en: 'Click the corners; click the first corner to close, Esc to cancel.',
  },
  drawHintLine: {
    zh: '依次点击各点；再次点击最后一点结束，Esc 取消。',
    en: 'Click the points; click the last point again to finish, Esc to cancel.',
  },
  cancel: { zh: '取消', en: 'Cancel' },
  save: { zh: '保存', en: 'Save' },
  saving: { zh: '保存中…', en: 'Saving…' },
  planName: { zh: '名称', en: 'Name' },
  planKind: { zh: '类型', en: 'Kind' },
  planStatus: { zh: '状态', en: 'Status' },
  planNotes: { zh: '备注', en: 'Notes' },
  planSaved: { zh: '已保存', en: 'Saved' },
  planDeleted: { zh: '已删除', en: 'Deleted' },
  planConflict: {
    zh: '该方案已被他人修改，已重新载入最新版本，请核对后再操作',
    en: 'Someone else changed this plan; the newer version is now shown, check it and try again',
  },
  delete: { zh: '删除', en: 'Delete' },
  confirmDelete: { zh: '确认删除', en: 'Confirm delete' },
  noPlans: { zh: '暂无规划', en: 'No plans yet' },
  plansList: { zh: '规划列表', en: 'Plans' },
  nameRequired: { zh: '请填写名称', en: 'Enter a name' },
  // Scenario
  scenarioTitle: { zh: '规划情景评估', en: 'Scenario evaluation' },
  scenarioUnavailable: {
    zh: '情景评估暂不可用（服务器尚未提供 /api/scenarios/evaluate）。',
    en: 'Scenario evaluation not available (the server has no /api/scenarios/evaluate yet).',
  },
  scenarioEvaluate: { zh: '评估', en: 'Evaluate' },
  scenarioIntro: {
    zh: '勾选已存规划，或在地图上临时画地块、围墙，看步行覆盖如何变化。临时绘制的不会保存，无需令牌。',
    en: 'Tick stored plans, or draw a temporary site or wall on the map, to see how walking coverage changes. Drawn shapes are not saved and need no token.',
  },
  scenarioBefore: { zh: '现状', en: 'Now' },
  scenarioAfter: { zh: '实施后', en: 'After' },
  scenarioNewlyCovered: { zh: '新覆盖居民', en: 'Newly covered' },
  scenarioFlips: { zh: '转达标社区', en: 'Now passing' },
  scenarioStoredPlans: { zh: '已存规划', en: 'Stored plans' },
  scenarioAllProposed: { zh: '全部拟议', en: 'All proposed' },
  scenarioClear: { zh: '清空', en: 'Clear' },
  scenarioDrawn: { zh: '临时绘制（不保存）', en: 'Drawn here (not saved)' },
  scenarioDrawnSite: { zh: '临时地块', en: 'Drawn site' },
  scenarioDrawnWall: { zh: '临时围墙', en: 'Drawn wall' },
  scenarioBecomesOpenSpace: { zh: '拆后增绿', en: 'becomes open space' },
  remove: { zh: '移除', en: 'Remove' },
  scenarioEvaluating: { zh: '评估中…', en: 'Evaluating…' },
  scenarioNothingSelected: { zh: '请勾选规划或画一个地块，再评估。', en: 'Tick a plan or draw a site to evaluate.' },
  scenarioAuto: { zh: '选择变化后自动重新评估', en: 'Re-evaluates whenever the selection changes' },
  scenarioTooMany: {
    zh: `一次最多评估 ${MAX_SCENARIO_PLANS} 个规划`,
    en: `At most ${MAX_SCENARIO_PLANS} plans in one evaluation`,
  },
  scenarioNetworkShare: { zh: '路网覆盖率', en: 'Share (network)' },
  scenarioMarginal: { zh: '各规划的边际贡献', en: "Each plan's marginal gain" },
  scenarioMarginalNote: {
    zh: '单独去掉该规划时少覆盖的居民数',
    en: 'Residents no longer covered if only this plan were dropped',
  },
  scenarioCommunities: { zh: '受益社区', en: 'Communities that gain' },
  scenarioRule: { zh: '规则', en: 'Rule' },
  scenarioNoCommunity: { zh: '此规则下没有社区的覆盖发生变化', en: 'No community changes coverage under this rule' },
  scenarioZoomHint: {
    zh: '按新覆盖居民排序；点击社区定位',
    en: 'Sorted by residents newly covered; click a community to zoom to it',
  },
  flipFailToPass: { zh: '未达标 → 达标', en: 'fail → pass' },
  flipPassToFail: { zh: '达标 → 未达标', en: 'pass → fail' },
  scenarioStreets: { zh: '步行变近的街道', en: 'Streets now closer on foot' },
  scenarioStreetsCount: { zh: '段', en: 'segments' },
  scenarioStreetsNone: { zh: '没有街道变近', en: 'No street gets closer' },
  scenarioColouredFor: { zh: '按此设施着色', en: 'coloured for' },
  scenarioSaved: { zh: '步行距离缩短', en: 'Walk shortened by' },
  scenarioNewlyReached: { zh: '原先步行范围内没有', en: 'none in walking reach before' },
  scenarioNewLinks: { zh: '新增步行连接（虚线）', en: 'New walking links (dashed)' },
  scenarioTempSites: { zh: '临时绘制的地块 / 围墙', en: 'Drawn sites / walls (not saved)' },
  scenarioAnswered: { zh: '用时', en: 'Answered in' },
  scenarioServer: { zh: '服务器', en: 'server' },
  scenarioStale: { zh: '选择已变，结果待更新', en: 'Selection changed; results pending' },
  suggestTitle: { zh: '选址建议', en: 'Where would a site help most?' },
  suggestIntro: {
    zh: '贪心最大覆盖：逐个挑选新覆盖居民最多的地块（每步按已选地块重算边际增益）。候选为空地网格上的方形绿地，或全部拟议规划。',
    en: 'Greedy maximal covering: picks, one at a time, the site that newly covers the most residents, recomputing gains after each pick. Candidates: square open spaces on a grid over vacant land, or the proposed plans.',
  },
  suggestCandidates: { zh: '候选', en: 'Candidates' },
  suggestGrid: { zh: '空地网格', en: 'Vacant-land grid' },
  suggestPlans: { zh: '拟议规划', en: 'Proposed plans' },
  suggestCount: { zh: '个数', en: 'Sites' },
  suggestRun: { zh: '建议选址', en: 'Suggest' },
  suggestRunning: { zh: '计算中…', en: 'Working…' },
  suggestNoRule: {
    zh: '此规则集中没有由公园或绿地服务的规则',
    en: 'No rule of this set is served by parks or green spaces',
  },
  suggestNone: { zh: '没有能新增覆盖的候选地块', en: 'No candidate adds anyone' },
  suggestGridSite: { zh: '网格地块', en: 'Grid site' },
  suggestGain: { zh: '新增覆盖', en: 'Adds' },
  suggestAlone: { zh: '单独', en: 'alone' },
  suggestTotal: { zh: '合计新覆盖', en: 'Newly covered in all' },
  suggestOf: { zh: '候选', en: 'candidates' },
  suggestSite: { zh: '地块面积', en: 'site' },
  suggestGap: { zh: '与穷举最优之差', en: 'gap to the enumerated optimum' },
  suggestGapSkipped: { zh: '候选过多，未穷举验证最优', en: 'too many candidates to check the optimum by enumeration' },
  suggestTry: { zh: '试评估', en: 'Try it' },
  suggestEstimate: { zh: '人口为估算值', en: 'population is estimated' },
  // Errors by API code
  err_unauthorized: { zh: '令牌缺失、无效或已吊销', en: 'The token is missing, unknown or revoked' },
  err_forbidden: { zh: '此令牌无权执行该操作', en: 'This token may not do that' },
  err_outside_dataset: { zh: '该点在已加载数据范围之外', en: 'That point is outside the loaded data' },
  err_not_snappable: { zh: '该点附近没有可步行的街道', en: 'No walkable street near that point' },
  err_invalid_parameter: { zh: '输入无效', en: 'Invalid input' },
  err_rate_limited: { zh: '请求过于频繁，请稍后再试', en: 'Too many requests; try again shortly' },
  err_database_unavailable: { zh: '数据库暂不可用', en: 'The database is unavailable' },
  err_network: { zh: '无法连接服务器', en: 'Cannot reach the server' },
  err_not_found: { zh: '未找到', en: 'Not found' },
  err_payload_too_large: { zh: '几何图形过大', en: 'The geometry is too large' },
  err_precondition_failed: { zh: '该方案已被他人修改', en: 'Someone else changed this plan' },
  attribution: { zh: '© OpenStreetMap contributors', en: '© OpenStreetMap contributors' },
  // finding your way and life-circle bands (h12c)
  searchPlaceholder: {
    zh: '搜索社区、小区、设施或道路',
    en: 'Search communities, residential areas, facilities, roads',
  },
  searchNone: { zh: '没有找到', en: 'Nothing found' },
  kind_community: { zh: '社区', en: 'Community' },
  kind_residential_area: { zh: '小区', en: 'Residential area' },
  kind_facility: { zh: '设施', en: 'Facility' },
  kind_road: { zh: '道路', en: 'Road' },
  zoomToData: { zh: '缩放至数据', en: 'Zoom to data' },
  bandsButton: { zh: '5/10/15分钟生活圈', en: '5/10/15-min life circles' },
  bandsTitle: { zh: '生活圈（步行距离）', en: 'Life circles (walking distance)' },
  bandsResidents: { zh: '圈内居民', en: 'Residents within' },
  bandsFit: { zh: '缩放至生活圈', en: 'Fit to life circles' },
  bandsClose: { zh: '关闭', en: 'Close' },
  bandsFromFacility: { zh: '自设施', en: 'From facility' },
  bandsFromPoint: { zh: '自所选点', en: 'From the clicked point' },
  bandsMethod: {
    zh: '面：沿已达街道的步行距离网格（临街 20 米内按街道距离，向街区内最多再走 150 米），按 300/500/1000 米描等值线；居民按各自步行距离计',
    en: 'Areas: a walking-distance grid along the reached streets (20 m frontage at the street’s distance, up to 150 m further into blocks), contoured at each limit; residents counted by their own walk',
  },
  savedScenarios: { zh: '保存的情景', en: 'Saved scenarios' },
  savedScenarioName: { zh: '情景名称', en: 'Scenario name' },
  savedScenarioSave: { zh: '保存情景', en: 'Save scenario' },
  savedScenarioSaved: { zh: '情景已保存', en: 'Scenario saved' },
  savedScenarioNone: { zh: '还没有保存的情景', en: 'No saved scenarios yet' },
  savedScenarioPlans: { zh: '方案', en: 'plans' },
  savedScenarioTokenNeeded: {
    zh: '保存情景需要规划令牌（与“两拆一增”页相同）；查看、比较和导出无需令牌',
    en: 'Saving needs a planner token (the one of the Plans tab); listing, comparing and exporting do not',
  },
  savedCompare: { zh: '比较两个情景', en: 'Compare two scenarios' },
  savedCompareGo: { zh: '比较', en: 'Compare' },
  savedShareAfter: { zh: '实施后达标率', en: 'share after' },
  savedCompareNote: {
    zh: '按规则：实施后（网络距离）覆盖率、新增覆盖居民及差值（B − A）',
    en: 'Per rule: the network share after, residents newly covered, and the difference (B − A)',
  },
  wallEffect: {
    zh: '拆除围墙「{name}」：新增步行连接 {links} 条（{link_m} 米），拆除围墙 {wall_m} 米，开放小区 {compounds} 个，开放内部道路 {edges} 段',
    en: 'Wall “{name}”: {links} walking links added ({link_m} m), {wall_m} m of wall removed, {compounds} gated compounds opened, {edges} private ways opened',
  },
  wallWhyNoLinkNoWall: {
    zh: '因此没有居民新增覆盖：这条线没有压在数据中的任何围墙或小区边界上，附近也没有可以跨线相连的道路',
    en: 'So no resident is newly covered: the line lies on no wall or compound boundary in the data, and no streets near it can be joined across it',
  },
  wallWhyNoLinkStreets: {
    zh: '因此没有居民新增覆盖：围墙拆除了，但两侧附近没有可以跨线相连的道路',
    en: 'So no resident is newly covered: the wall is removed, but no streets on either side are near enough to be joined across it',
  },
  fitToRoute: { zh: '缩放至路线/等时圈', en: 'Fit to routes / isochrone' },
  facilityIsochrone: { zh: '自设施等时圈', en: 'Isochrone from facility' },
  facilityIsochroneFrom: { zh: '等时圈自设施', en: 'Isochrone from facility' },
  measureMethod: { zh: '椭球面（WGS84）测地距离与面积', en: 'Geodesic on the WGS84 ellipsoid' },
  measureClear: { zh: '清除', en: 'Clear' },
  measureDone: { zh: '完成', en: 'Done' },
  measure: { zh: '测量', en: 'Measure' },
  measureHint: { zh: '点击地图添加点，双击结束', en: 'Click to add points, double-click to finish' },
  measureDistance: { zh: '距离', en: 'Distance' },
  measureArea: { zh: '面积', en: 'Area' },
  // drill-down of one area and rule (audit tab)
  drilldownTitle: { zh: '为何未达标', en: 'Why it fails' },
  drilldownOpen: { zh: '查看原因', en: 'Why?' },
  drilldownClose: { zh: '关闭', en: 'Close' },
  drilldownRule: { zh: '条款', en: 'Rule' },
  drilldownSentence: {
    zh: '{uncovered} / {population} 名居民不满足「{rule}」',
    en: '{uncovered} of {population} residents do not meet "{rule}"',
  },
  drilldownAllCovered: { zh: '全部 {population} 名居民满足「{rule}」', en: 'All {population} residents meet "{rule}"' },
  drilldownNoResidents: { zh: '该区域内没有有结果的居民', en: 'No residents with a result live in this area' },
  drilldownNearest: {
    zh: '；其中多数人最近的是{name}，步行中位 {m} 米',
    en: '; the nearest for most of them is {name} at a median {m} m walk',
  },
  drilldownNoneInReach: { zh: '；他们在 {cap} 米内均无可达设施', en: '; none of them can reach one within {cap} m' },
  drilldownNotAssessable: {
    zh: '无法评估：数据中没有该条款所计的设施；请导入登记表',
    en: 'Not assessable: no facility this rule counts is in the data; import a register',
  },
  drilldownHistogram: { zh: '步行距离分布（居民数）', en: 'Walking distances (residents)' },
  drilldownHistogramNote: {
    zh: '柱高为居民数；竖线为条款限值',
    en: "Bar height: residents; the line marks the rule's limit",
  },
  drilldownShares: {
    zh: '覆盖率：路网 {net} · 直线 {straight} · 目标 {target}',
    en: 'Covered: network {net} · straight line {straight} · target {target}',
  },
  drilldownStraightGap: {
    zh: '直线距离高估了覆盖：差额来自绕行（围墙、河流、断头路）',
    en: 'Straight lines overstate coverage: the gap is the detour (walls, rivers, dead ends)',
  },
  drilldownNearestTitle: { zh: '未覆盖居民最近的设施', en: 'Nearest facility for the uncovered' },
  drilldownNearestRow: { zh: '{pop} 人 · 中位 {m} 米', en: '{pop} residents · median {m} m' },
  drilldownCaveats: { zh: '注意事项', en: 'Caveats' },
  drilldownDots: {
    zh: '地图上的点：未覆盖的住宅，颜色为步行距离（同街道配色）',
    en: 'Dots on the map: uncovered homes, coloured by walking distance (as the streets)',
  },
  drilldownDotsTruncated: { zh: '（仅显示前 {n} 个）', en: '(first {n} shown)' },
  drilldownOutcomes: {
    zh: '无距离：超出上限 {beyond} 人 · 无路可达 {nopath} 人',
    en: 'Without a distance: beyond the cap {beyond} · no path {nopath}',
  },
  drilldownPickLevel: {
    zh: '切换到社区或小区以查看原因',
    en: 'Switch to communities or residential areas to see why an area fails',
  },
  caveat_no_data: {
    zh: '数据中没有该条款所计的设施：此处无法判定',
    en: "No facility of this rule's categories is in the data: the rule cannot be judged here",
  },
  caveat_beyond_cap: {
    zh: '{n} 名未覆盖居民在 {cap} 米步行范围内没有此类设施（距离只计到此）',
    en: '{n} uncovered residents have no such facility within {cap} m of walking (distances are counted up to there)',
  },
  caveat_no_path: {
    zh: '{n} 名未覆盖居民所在的路网片段中根本没有此类设施（常为人行道未绘制）',
    en: '{n} uncovered residents live on a piece of the street network with no such facility at all (often a gap in the mapped footpaths)',
  },
  caveat_edge_of_data: {
    zh: '部分未覆盖居民靠近数据边缘：范围外的设施可能服务他们',
    en: 'Some uncovered residents live near the edge of the data: a facility outside the extract may serve them',
  },
  caveat_sample_facilities: {
    zh: '部分最近设施为示例数据，并非真实登记',
    en: 'Some of the nearest facilities are sample data, not a real register',
  },
  printReport: { zh: '打印报告', en: 'Print report' },
  reportCommunity: { zh: '本社区', en: 'this community' },
  reportCity: { zh: '全市', en: 'whole city' },
  // where people live
  layer_population: { zh: '居民分布', en: 'Where people live' },
  populationTitle: {
    zh: '居民分布（每个住宅/采样点的人数）',
    en: 'Where people live (residents per home / sample point)',
  },
  populationSize: { zh: '圆面积与人数成正比；z13 起显示', en: 'Circle area ∝ residents; shown from z13' },
  populationInView: { zh: '视图内居民', en: 'Residents in view' },
  populationHomes: { zh: '处住宅/采样点', en: 'homes / sample points' },
  popsrc_census: { zh: '普查表', en: 'census table' },
  popsrc_osm: { zh: 'OSM 人口标签', en: 'OSM population tag' },
  popsrc_grid: { zh: '人口格网', en: 'population grid' },
  popsrc_estimate: { zh: '按建筑面积估算', en: 'estimated from floor area' },
  // compare two runs (GET /api/compare)
  tab_compare: { zh: '前后对比', en: 'Compare' },
  compareFrom: { zh: '对比前', en: 'Before' },
  compareTo: { zh: '对比后', en: 'After' },
  compareGo: { zh: '对比', en: 'Compare' },
  compareHint: {
    zh: '数据集名称（其当前结果）或计算批次编号',
    en: 'A dataset name (its current run) or a run id',
  },
  compareNeedBoth: { zh: '请填写对比前与对比后', en: 'Give both before and after' },
  compareTitle: { zh: '覆盖率变化（对比后 − 对比前）', en: 'Change in share covered (after − before)' },
  compareUnitPopulation: {
    zh: '单位：百分点（步行可达居民占比）',
    en: 'Unit: percentage points of residents within walking distance',
  },
  compareUnitLand: {
    zh: '单位：百分点（步行可达居住用地占比）',
    en: 'Unit: percentage points of residential land within walking distance',
  },
  compareLoss: { zh: '下降', en: 'loss' },
  compareGain: { zh: '上升', en: 'gain' },
  compareNoChange: { zh: '无变化（< 0.05 个百分点）', en: 'no change (< 0.05 pp)' },
  compareNoFigure: {
    zh: '无覆盖率（无居民，或一侧无法评估）',
    en: 'no share (no residents, or not assessable on a side)',
  },
  compareFromOnly: { zh: '仅对比前有', en: 'only before' },
  compareToOnly: { zh: '仅对比后有', en: 'only after' },
  compareShare: { zh: '覆盖率', en: 'Share covered' },
  compareCoveredPopulation: { zh: '步行可达居民', en: 'Residents within reach' },
  compareCoveredLand: { zh: '步行可达居住用地', en: 'Residential land within reach' },
  comparePopulation: { zh: '居民', en: 'Residents' },
  compareLand: { zh: '居住用地', en: 'Residential land' },
  compareGained: { zh: '增加', en: 'gained' },
  compareLost: { zh: '减少', en: 'lost' },
  compareCounts: {
    zh: '区域：上升 {gain}，下降 {loss}，无变化 {same}，仅一侧 {side}',
    en: 'Areas: {gain} gained, {loss} lost, {same} unchanged, {side} on one side only',
  },
  compareNet: { zh: '合计净变化', en: 'Net change, all areas' },
  compareClickHint: {
    zh: '点击地图上的区域查看前后数值',
    en: 'Click an area on the map for its figures before and after',
  },
  compareKeyNote: {
    zh: '按区域编号对应：导入的社区与区跨数据集保留编号，小区与近似社区不对应',
    en: 'Areas are matched by key: imported communities and districts keep theirs across datasets, residential areas and approximate communities do not',
  },
  compareRun: { zh: '批次', en: 'run' },
  compareEstimated: { zh: '含估算人口', en: 'includes estimated residents' },
} as const satisfies Record<string, Bilingual>;

export type StringKey = keyof typeof STRINGS;

let current: Lang = 'zh';

export function setLang(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export function getLang(): Lang {
  return current;
}

/** The UI string `key` in the current language. */
export function t(key: StringKey): string {
  return STRINGS[key][current];
}

/** Whether `key` names a UI string (for keys built at run time, e.g. `err_${code}`). */
export function hasString(key: string): key is StringKey {
  return Object.hasOwn(STRINGS, key);
}

/** An API label ({zh, en}) in the current language. */
export function label(x: Bilingual): string {
  return x[current];
}

/** Integer with thousands separators in the current locale. */
export function formatInt(n: number): string {
  return Math.round(n).toLocaleString(current === 'zh' ? 'zh-CN' : 'en-GB');
}

/** A 0–1 share as a whole percentage. */
export function formatShare(share: number | null): string {
  return share === null ? '—' : `${Math.round(share * 100)}%`;
}

/** Metres rounded to the metre; the unit is the same in both languages. */
export function formatMetres(m: number | null): string {
  return m === null ? '—' : `${Math.round(m)} m`;
}
