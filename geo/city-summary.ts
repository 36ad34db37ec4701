/** One rule's figures in one area row, as the coverage API and its query carry them. */
export interface AreaRuleFigures {
  population: number;
  covered_population: number;
  straight_covered_population: number;
  /** Not assessable: no facility of the rule's categories in the data. */
  no_data: boolean;
}

/** One rule over the whole city. Shares are null where no one lives in the rows. */
export interface CityRuleFigures {
  population: number;
  share: number | null;
  straightShare: number | null;
  noData: boolean;
}

/**
 * City-wide, population-weighted coverage of one rule from residential-area rows: residential areas
 * partition the residents, so the city's share is Σ covered population ÷ Σ population, on the network
 * and in a straight line (never a mean of area shares). Rows without the rule are skipped; one row
 * without data makes the rule not assessable. O(areas). The report (server) and the summary strip
 * (web) both call this, so the printed and the on-screen city figures cannot drift apart.
 */
export function cityRuleFigures(
  areas: Iterable<{ rules: Readonly<Record<string, AreaRuleFigures | undefined>> }>,
  ruleId: string,
): CityRuleFigures {
  let population = 0,
    covered = 0,
    straight = 0,
    noData = false;
  for (const area of areas) {
    const r = area.rules[ruleId];
    if (!r) continue;
    noData ||= r.no_data;
    population += r.population;
    covered += r.covered_population;
    straight += r.straight_covered_population;
  }
  return {
    population,
    share: population > 0 ? covered / population : null,
    straightShare: population > 0 ? straight / population : null,
    noData,
  };
}
