import type { LayerSpecification, VectorSourceSpecification } from 'maplibre-gl';
import { tileUrl } from '../api/client.ts';

/** Walls and fences, gated compounds and their gates (tile_barriers, migrations/0130). */
export const BARRIERS_SOURCE = 'barriers';
export const WALL_COLOR = '#3e2723';
export const GATED_COLOR = '#6d4c41';
export const GATE_COLOR = '#fdd835';
export const BARRIER_LAYERS = ['barriers-compounds', 'barriers-walls', 'barriers-gates'] as const;

export function barriersSource(): VectorSourceSpecification {
  return { type: 'vector', tiles: [tileUrl('barriers')], minzoom: 13, maxzoom: 16 };
}

/**
 * Gated compounds as a dotted outline (walking in is only through a gate), walls and fences as a
 * dark line with ticks, gates as yellow dots: where a 拆除围墙 plan would open a way.
 */
export function barriersLayers(): LayerSpecification[] {
  return [
    {
      id: 'barriers-compounds',
      type: 'line',
      source: BARRIERS_SOURCE,
      'source-layer': 'gated_compounds',
      minzoom: 13,
      paint: { 'line-color': GATED_COLOR, 'line-width': 1.6, 'line-dasharray': [1, 1.5], 'line-opacity': 0.8 },
    },
    {
      id: 'barriers-walls',
      type: 'line',
      source: BARRIERS_SOURCE,
      'source-layer': 'walls',
      minzoom: 14,
      paint: {
        'line-color': WALL_COLOR,
        'line-width': ['interpolate', ['linear'], ['zoom'], 14, 1, 17, 2.5],
        'line-opacity': 0.85,
      },
    },
    {
      id: 'barriers-gates',
      type: 'circle',
      source: BARRIERS_SOURCE,
      'source-layer': 'compound_gates',
      minzoom: 15,
      paint: {
        'circle-radius': 3.5,
        'circle-color': GATE_COLOR,
        'circle-stroke-color': WALL_COLOR,
        'circle-stroke-width': 1,
      },
    },
  ];
}
