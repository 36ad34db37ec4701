/**
 * Limits shared by the server (route schemas, importers, handlers) and the web client (what the UI
 * lets a user ask for), so one number holds everywhere (README, "Limits"). Chosen, not
 * standardised unless a source is named.
 */

/** Characters in a name (plan, facility, community, district, street): a Chengdu facility or community name is tens of characters. */
export const MAX_NAME_CHARS = 200;
/** Characters in free text (plan notes, an address). */
export const MAX_NOTES_CHARS = 2000;
/** Characters in one OSM tag value: the OSM API's own limit (wiki.openstreetmap.org/wiki/API_v0.6, "Limits"). */
export const MAX_OSM_TAG_CHARS = 255;
/** Vertices allowed in one plan geometry: a block-sized site needs tens, not thousands. */
export const MAX_PLAN_VERTICES = 2000;
/** Nesting of a JSON request body, at most: the deepest valid body (a MultiPolygon in a scenario) needs 8. */
export const MAX_JSON_DEPTH = 32;

/** Plans in one page of GET /api/plans, by default and at most. */
export const PLANS_PAGE_DEFAULT = 100;
export const PLANS_PAGE_MAX = 500;

/** Plans in one evaluation: a district's 两拆一增 programme is tens of sites, not hundreds. */
export const MAX_SCENARIO_PLANS = 50;
/** Largest k for suggestions: beyond ten sites a programme is planned, not suggested. */
export const MAX_SUGGEST_K = 10;
/** Grid spacing for vacant-land candidates, metres. Chosen: about one site per Chengdu block side (150 m). */
export const GRID_SPACING_M = 150;
/** Grid candidates must lie this close to the walking network, metres: a site nobody can walk to is no site. */
export const GRID_MAX_NETWORK_M = 100;
/** Default size of a grid candidate open space: a 50 m × 50 m square (2500 m²), a 小游园 / pocket park. */
export const GRID_SITE_M2 = 2500;
/** Grid points examined before filtering, at most; a finer grid over a whole city is a batch job. */
export const MAX_GRID_POINTS = 40_000;

/** Largest isochrone distance served: 3000 m, three 15-minute life circles; larger ones are city-scale work, not a click. */
export const MAX_ISOCHRONE_M = 3000;

/**
 * Walking speed used for minutes: 4 km/h (66.7 m/min), the pace behind GB 50180-2018's
 * 15-minute ≈ 1000 m life circle (§3.0.4), slow enough to include older residents.
 */
export const WALK_SPEED_M_PER_MIN = 4000 / 60;

/** Max tile zoom served; beyond it clients overzoom. */
export const MAX_TILE_ZOOM = 22;

/** The rule set answers use when the request names none. */
export const DEFAULT_RULE_SET = 'chengdu-park-city';

/** Characters in a rule set id (`rule_set=`). */
export const MAX_RULE_SET_ID_CHARS = 64;
