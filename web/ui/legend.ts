import type { AppContext, LayerToggle } from '../context.ts';
import { formatInt, label, t, type StringKey } from '../i18n.ts';
import { shownCategories } from '../layers/facilities.ts';
import { networkColouring } from '../layers/network.ts';
import { EDGE_OF_DATA_COLOR } from '../layers/areas.ts';
import { GATE_COLOR, GATED_COLOR, WALL_COLOR } from '../layers/barriers.ts';
import {
  BEYOND_CAP_COLOR,
  categoryColor,
  CHANGE_CLASSES,
  NO_CHANGE_COLOR,
  ONE_SIDE_COLOR,
  POPULATION_SOURCE_COLORS,
  DISTANCE_CLASSES,
  NEW_LINK_COLOR,
  NEWLY_REACHED_COLOR,
  NO_RESULT_COLOR,
  PASS_COLOR,
  PLAN_COLORS,
  SAVED_CLASSES,
  SCENARIO_SITE_COLOR,
  SHARE_CLASSES,
  UNREACHABLE_COLOR,
} from '../palette.ts';
import { DISTANCE_CAP_M, limitForCategory, ruleForCategory } from '../rules.ts';
import { WORST } from '../state.ts';
import { badge, h, mount } from './dom.ts';
import { populationInView } from '../layers/population.ts';

const swatch = (color: string, kind: 'line' | 'dash' | 'fill' | 'dot' | 'ring' | 'hatch' = 'fill') =>
  h('span', { class: `sw sw-${kind}`, style: `--c:${color}` });

/** The scenario panel's part of the legend: streets now closer by distance saved, new links, drawn sites. */
function scenarioBlock(ctx: AppContext): Node[] {
  const sc = ctx.scenario;
  if (!sc || (!sc.streetsCategory && !sc.drawnSites)) return [];
  const out: Node[] = [];
  if (sc.streetsCategory) {
    const cat = ctx.category(sc.streetsCategory);
    const rows = SAVED_CLASSES.map((cls, i) => {
      const lower = i === 0 ? 0 : SAVED_CLASSES[i - 1].upTo;
      return h('li', {}, swatch(cls.color, 'line'), cls.upTo === Infinity ? `> ${lower} m` : `${lower}–${cls.upTo} m`);
    });
    rows.push(h('li', {}, swatch(NEWLY_REACHED_COLOR, 'line'), t('scenarioNewlyReached')));
    rows.push(h('li', {}, swatch(NEW_LINK_COLOR, 'dash'), t('scenarioNewLinks')));
    out.push(
      h('h4', { id: 'legend-scenario' }, `${t('scenarioStreets')} · ${cat ? label(cat) : sc.streetsCategory}`),
      h('div', { class: 'note' }, t('scenarioSaved')),
      h('ul', { class: 'legend-list cols' }, rows),
    );
  }
  if (sc.drawnSites)
    out.push(h('ul', { class: 'legend-list' }, h('li', {}, swatch(SCENARIO_SITE_COLOR), t('scenarioTempSites'))));
  return out;
}

/** The compare tab's part of the legend: the diverging classes of share change, its unit, one-sided areas. */
function compareBlock(ctx: AppContext): Node[] {
  const c = ctx.compare;
  if (!c) return [];
  const fmt = (x: number) => `${x > 0 ? '+' : x < 0 ? '−' : ''}${Math.abs(x * 100)}`;
  const rows = CHANGE_CLASSES.map((cls, i) => {
    const lo = i === 0 ? -Infinity : CHANGE_CLASSES[i - 1].below;
    const hi = cls.below;
    const text = lo === -Infinity ? `< ${fmt(hi)}` : hi === Infinity ? `≥ ${fmt(lo)}` : `${fmt(lo)} … ${fmt(hi)}`;
    const kind = hi <= 0 ? t('compareLoss') : t('compareGain');
    return h('li', { 'data-class': String(i) }, swatch(cls.color), `${kind} ${text}`);
  });
  // no change sits between the losses and the gains
  rows.splice(
    CHANGE_CLASSES.findIndex((cls) => cls.below > 0),
    0,
    h('li', { 'data-class': 'none' }, swatch(NO_CHANGE_COLOR), t('compareNoChange')),
  );
  return [
    h('h4', { id: 'legend-compare' }, t('compareTitle')),
    h(
      'div',
      { class: 'note', id: 'legend-compare-unit' },
      c.measure === 'residential_land_area' ? t('compareUnitLand') : t('compareUnitPopulation'),
    ),
    h('ul', { class: 'legend-list cols', id: 'legend-compare-classes' }, rows),
    h(
      'ul',
      { class: 'legend-list' },
      h(
        'li',
        { 'data-class': 'one-side' },
        swatch(ONE_SIDE_COLOR, 'hatch'),
        `${t('compareFromOnly')} / ${t('compareToOnly')}`,
      ),
      h('li', { 'data-class': 'no-figure' }, swatch(NO_RESULT_COLOR), t('compareNoFigure')),
    ),
    c.sample
      ? h('div', { class: 'note', id: 'legend-compare-sample' }, badge(t('sample'), 'sample'), ' ', t('sampleData'))
      : null,
    c.estimated
      ? h(
          'div',
          { class: 'note', id: 'legend-compare-estimated' },
          badge(t('estimate'), 'estimate'),
          ' ',
          t('compareEstimated'),
        )
      : null,
  ].filter((x) => x !== null);
}

/**
 * Where people live: what the circles are, the colour of each population source (estimates
 * labelled as such), and the residents in view by source, summed over the homes drawn.
 */
function populationBlock(ctx: AppContext): (Node | null)[] {
  const inView = populationInView(ctx.map);
  const sources = ['census', 'osm', 'grid', 'estimate'] as const;
  return [
    h('h4', { id: 'legend-population' }, t('populationTitle')),
    h(
      'ul',
      { class: 'legend-list' },
      sources.map((src) =>
        h(
          'li',
          { 'data-source': src },
          swatch(POPULATION_SOURCE_COLORS[src], 'dot'),
          t(`popsrc_${src}` as StringKey),
          src === 'grid' || src === 'estimate' ? badge(t('estimate'), 'estimate') : null,
          inView && inView.bySource[src] ? h('small', {}, ` ${formatInt(inView.bySource[src])}`) : null,
        ),
      ),
    ),
    h('div', { class: 'note' }, t('populationSize')),
    inView
      ? h(
          'div',
          {
            class: 'note',
            id: 'population-in-view',
            'data-residents': String(inView.residents),
            'data-homes': String(inView.homes),
          },
          `${t('populationInView')}: ${formatInt(inView.residents)} · ${inView.homes} ${t('populationHomes')}`,
        )
      : null,
  ];
}

/** The legend: the rule in force, what the street, area and facility colours mean, and layer toggles. */
export function renderLegend(el: HTMLElement, ctx: AppContext): void {
  const s = ctx.store.get();
  const rs = ctx.ruleSet();
  const worst = s.category === WORST;
  const rule = worst ? null : ruleForCategory(rs, s.category, s.rule);
  const c = networkColouring(rs, s.category, ctx.emptyRules, s.rule);
  const skipped = worst ? rs.rules.filter((r) => ctx.emptyRules.has(r.id)) : [];

  const ruleBlock = worst
    ? h(
        'div',
        { class: 'legend-rule' },
        h('strong', {}, label(rs)),
        h(
          'ul',
          {},
          rs.rules.map((r) =>
            h(
              'li',
              { class: ctx.emptyRules.has(r.id) ? 'skipped' : undefined },
              `${label(r)} · ${t('target')} ${Math.round(r.target_share * 100)}%`,
            ),
          ),
        ),
        skipped.length
          ? h('div', { class: 'note' }, `${t('skippedRules')}: ${skipped.map((r) => label(r)).join('、')}`)
          : null,
      )
    : rule
      ? h(
          'div',
          { class: 'legend-rule' },
          h('strong', {}, label(rule)),
          h(
            'div',
            {},
            `≤ ${limitForCategory(rule, s.category)} m · ${t('target')} ${Math.round(rule.target_share * 100)}%`,
          ),
          // streets carry the distance to the nearest facility of the category, whatever its size
          rule.tiers.some((tier) => tier.min_area_m2 !== null || tier.categories.length > 1)
            ? h(
                'div',
                { class: 'note', id: 'legend-street-note' },
                t('streetsAnySize').replace(
                  '{category}',
                  label(ctx.category(s.category) ?? { zh: s.category, en: s.category }),
                ),
              )
            : null,
          h('div', { class: 'cite' }, rule.citation),
        )
      : h(
          'div',
          { class: 'legend-rule' },
          h('strong', {}, label(ctx.category(s.category) ?? { zh: s.category, en: s.category })),
          h('div', { class: 'note' }, t('noRuleForCategory')),
        );

  const distanceRows = DISTANCE_CLASSES.map((cls, i) => {
    const lower = i === 0 ? 0 : DISTANCE_CLASSES[i - 1].upTo;
    let text: string;
    if (c.limitM !== null) {
      text = cls.upTo === Infinity ? `> ${Math.round(lower * c.limitM)} m` : `≤ ${Math.round(cls.upTo * c.limitM)} m`;
    } else {
      text = cls.upTo === Infinity ? `> ${lower}×` : `≤ ${cls.upTo}×`;
    }
    const isLimit = cls.upTo === 1;
    return h(
      'li',
      { class: isLimit ? 'limit' : undefined },
      swatch(cls.color, 'line'),
      text,
      isLimit ? h('em', {}, ` ← ${t('limit')}`) : null,
    );
  });
  // the three outcomes without a distance, in the API's words (no_data: the category has no facility at all)
  distanceRows.push(
    h(
      'li',
      { 'data-outcome': 'beyond_cap' },
      swatch(BEYOND_CAP_COLOR, 'line'),
      t('outcome_beyond_cap').replace('{cap}', String(DISTANCE_CAP_M)),
    ),
  );
  distanceRows.push(h('li', { 'data-outcome': 'no_path' }, swatch(UNREACHABLE_COLOR, 'line'), t('outcome_no_path')));
  const noDataHere = worst ? false : rule !== null && ctx.emptyRules.has(rule.id);
  if (noDataHere)
    distanceRows.push(h('li', { 'data-outcome': 'no_data' }, swatch(NO_RESULT_COLOR, 'line'), t('outcome_no_data')));

  const target = rule ? Math.round(rule.target_share * 100) : null;
  const shareRows = [
    h('li', {}, swatch(PASS_COLOR), `${t('passes')}${target !== null ? ` (≥ ${target}%)` : ''}`),
    ...SHARE_CLASSES.map((cls, i) => {
      const lo = i === 0 ? 0 : SHARE_CLASSES[i - 1].below;
      const hi = Math.min(cls.below, 1);
      return h('li', {}, swatch(cls.color), `${t('fails')} ${Math.round(lo * 100)}–${Math.round(hi * 100)}%`);
    }),
  ];

  const facilityRows = shownCategories(rs, s.category).map((id) => {
    const cat = ctx.category(id);
    return h('li', {}, swatch(categoryColor(id), 'dot'), cat ? label(cat) : id);
  });
  facilityRows.push(h('li', {}, swatch('#757575', 'ring'), t('facilitiesSampleRing')));

  const toggle = (key: LayerToggle) =>
    h(
      'label',
      { class: 'toggle' },
      h('input', {
        type: 'checkbox',
        checked: ctx.layers[key],
        'data-layer': key,
        onchange: (e: Event) => {
          ctx.layers[key] = (e.target as HTMLInputElement).checked;
          ctx.refreshMap();
        },
      }),
      t(`layer_${key}` as StringKey),
    );

  const details = el.querySelector('details');
  const open = details ? details.open : window.innerWidth > 900;
  mount(
    el,
    h(
      'details',
      { open },
      h('summary', {}, t('legend')),
      compareBlock(ctx),
      scenarioBlock(ctx),
      ruleBlock,
      h('h4', {}, worst ? t('worstRatio') : t('walkToNearest')),
      h('ul', { class: 'legend-list cols' }, distanceRows),
      h('div', { class: 'note' }, t('networkNote')),
      // a comparison replaces the areas' share colours (compareBlock above)
      ctx.compare ? null : h('h4', {}, `${t('areaShare')}${worst ? ` · ${t('worstOfAll')}` : ''}`),
      ctx.compare
        ? null
        : rule || worst
          ? h('ul', { class: 'legend-list cols' }, shareRows)
          : h('ul', { class: 'legend-list' }, h('li', {}, swatch(NO_RESULT_COLOR), t('noRule'))),
      ctx.compare
        ? null
        : h(
            'ul',
            { class: 'legend-list' },
            h('li', { title: t('edgeOfDataNote') }, swatch(EDGE_OF_DATA_COLOR, 'dash'), t('edgeOfData')),
          ),
      h('h4', {}, t('layer_facilities')),
      h('ul', { class: 'legend-list inline' }, facilityRows),
      h('h4', {}, t('layer_plans')),
      h(
        'ul',
        { class: 'legend-list inline' },
        Object.entries(PLAN_COLORS).map(([k, col]) => h('li', {}, swatch(col), t(`plan_kind_${k}` as StringKey))),
      ),
      h('h4', {}, t('barriersTitle')),
      h(
        'ul',
        { class: 'legend-list inline', id: 'legend-barriers' },
        h('li', {}, swatch(WALL_COLOR, 'line'), t('barrierWall')),
        h('li', {}, swatch(GATED_COLOR, 'dash'), t('barrierGated')),
        h('li', {}, swatch(GATE_COLOR, 'dot'), t('barrierGate')),
      ),
      ctx.layers.population ? populationBlock(ctx) : null,
      h(
        'div',
        { class: 'toggles', title: t('layers') },
        (['network', 'areas', 'facilities', 'plans', 'population'] as LayerToggle[]).map(toggle),
      ),
    ),
  );
}
