import { TerraDraw, TerraDrawLineStringMode, TerraDrawPolygonMode, ValidateNotSelfIntersecting } from 'terra-draw';
import type { Map as MapLibreMap } from 'maplibre-gl';
import type { PlanGeometry } from '../api/types.ts';
import { MapLibreDrawAdapter } from './draw-adapter.ts';

/** A site (polygon) or a wall (line). */
export type DrawKind = 'polygon' | 'linestring';

export interface DrawSession {
  /** The shape is finished: a polygon closed, or a line ended by clicking its last point again. */
  onFinish(geometry: PlanGeometry): void;
  /** Another session took the drawing over (the owner should drop what it showed as pending). */
  onTakenOver?(): void;
}

/**
 * The one terra-draw instance of a map, shared by every panel that draws 两拆一增 plans: two
 * instances would fight over the canvas events and the `draw-*` sources. One session at a time;
 * starting a new one ends the previous owner's. Created lazily, on the first drawing.
 */
export class PlanDraw {
  private draw: TerraDraw | null = null;
  private session: DrawSession | null = null;

  constructor(private readonly map: MapLibreMap) {}

  private ensure(): TerraDraw {
    if (this.draw) return this.draw;
    const draw = new TerraDraw({
      adapter: new MapLibreDrawAdapter({ map: this.map, coordinatePrecision: 7 }),
      modes: [
        new TerraDrawPolygonMode({
          validation: (feature: unknown, { updateType }: { updateType: string }) =>
            updateType === 'finish' || updateType === 'commit' ? ValidateNotSelfIntersecting(feature) : { valid: true },
          styles: {
            fillColor: '#ff8f00',
            fillOpacity: 0.25,
            outlineColor: '#e65100',
            outlineWidth: 2.5,
            closingPointColor: '#ffffff',
            closingPointOutlineColor: '#e65100',
            closingPointWidth: 6,
            closingPointOutlineWidth: 2,
          },
        }),
        new TerraDrawLineStringMode({
          styles: {
            lineStringColor: '#6a1b9a',
            lineStringWidth: 4,
            closingPointColor: '#ffffff',
            closingPointOutlineColor: '#6a1b9a',
            closingPointWidth: 6,
            closingPointOutlineWidth: 2,
          },
        }),
      ],
    });
    draw.start();
    draw.on('finish', (id, context) => {
      if (context.action !== 'draw') return;
      const feature = draw.getSnapshotFeature(id);
      if (!feature) return;
      draw.setMode('static');
      this.session?.onFinish(feature.geometry as PlanGeometry);
    });
    this.draw = draw;
    return draw;
  }

  /** Start drawing a shape of `kind` for `session`; anything drawn before is cleared. */
  start(kind: DrawKind, session: DrawSession): void {
    const draw = this.ensure();
    const previous = this.session;
    this.session = session;
    if (previous && previous !== session) previous.onTakenOver?.();
    draw.clear();
    draw.setMode(kind);
  }

  /** Stop drawing and clear the drawn shape, if `session` (default: any) is the one drawing. */
  stop(session?: DrawSession): void {
    if (session && this.session !== session) return;
    this.session = null;
    if (!this.draw) return;
    this.draw.clear();
    this.draw.setMode('static');
  }
}
