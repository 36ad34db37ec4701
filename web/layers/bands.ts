import type { GeoJSONSource, Map as MapLibreMap } from 'maplibre-gl';
import type { IsochroneBands } from '../api/types.ts';

export const BANDS_SOURCE = 'life-circle-bands';
export const BANDS_FILL = 'bands-fill';
export const BANDS_OUTLINE = 'bands-outline';

/** Band colours by limit: 300 m darkest (drawn last, on top), 1000 m lightest. */
export const BAND_COLORS: Record<number, string> = { 300: '#1b5e20', 500: '#43a047', 1000: '#a5d6a7' };
const OTHER_BAND_COLOR = '#80cbc4';

/** GET /api/isochrone/bands (the contract's type). */
export type BandsAnswer = IsochroneBands;

/** Adds the bands source and its fill and outline layers under the isochrone (once the style has loaded). */
export function installBands(map: MapLibreMap): void {
  if (map.getSource(BANDS_SOURCE)) return;
  map.addSource(BANDS_SOURCE, { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  const color = [
    'match',
    ['get', 'limit_m'],
    ...Object.entries(BAND_COLORS).flatMap(([k, c]) => [Number(k), c]),
    OTHER_BAND_COLOR,
  ] as unknown as string;
  const before = map.getLayer('isochrone-fill') ? 'isochrone-fill' : undefined;
  map.addLayer(
    { id: BANDS_FILL, type: 'fill', source: BANDS_SOURCE, paint: { 'fill-color': color, 'fill-opacity': 0.28 } },
    before,
  );
  map.addLayer(
    { id: BANDS_OUTLINE, type: 'line', source: BANDS_SOURCE, paint: { 'line-color': color, 'line-width': 1.6 } },
    before,
  );
}

/** Shows the bands (largest first, so smaller ones draw on top), or clears them. */
export function showBands(map: MapLibreMap, bands: BandsAnswer | null): void {
  const features = (bands?.features ?? [])
    .filter((f) => f.geometry)
    .sort((a, b) => b.properties.limit_m - a.properties.limit_m);
  map
    .getSource<GeoJSONSource>(BANDS_SOURCE)
    ?.setData({ type: 'FeatureCollection', features: features as GeoJSON.Feature[] });
}
