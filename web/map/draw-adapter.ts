import type { GeoJSONSource, Map as MapLibreMap } from 'maplibre-gl';
import { TerraDrawExtend } from 'terra-draw';
import type { Feature, Geometry } from 'geojson';

// terra-draw's declaration files import their siblings without file extensions, which NodeNext
// resolution does not follow, so its adapter types arrive as `any`; these are the parts used here.
type Cursor = string;
interface DrawCallbacks {
  onReady?(): void;
}
interface DrawFeature {
  type: 'Feature';
  id?: string | number;
  geometry: Geometry;
  properties: Record<string, unknown>;
}
interface DrawChanges {
  created: DrawFeature[];
  updated: DrawFeature[];
  unchanged: DrawFeature[];
  deletedIds: unknown[];
}
type DrawStyling = Record<string, (feature: DrawFeature) => Record<string, unknown>>;
interface BaseAdapterConfig {
  coordinatePrecision?: number;
  minPixelDragDistance?: number;
  minPixelDragDistanceDrawing?: number;
}
interface BaseAdapter {
  register(callbacks: DrawCallbacks): void;
  unregister(): void;
}
const TerraDrawBaseAdapter = TerraDrawExtend.TerraDrawBaseAdapter as abstract new (
  config: BaseAdapterConfig,
) => BaseAdapter;

type GeometryKind = 'Point' | 'LineString' | 'Polygon';
const KINDS: readonly GeometryKind[] = ['Polygon', 'LineString', 'Point'];

/**
 * A terra-draw adapter for MapLibre GL. terra-draw's own MapLibre adapter is a separate package
 * that is not installed here, so this one implements the abstract base adapter: pointer events
 * come from the map canvas, and the drawn features are rendered through three GeoJSON sources
 * whose layers read each feature's style from its properties.
 */
export class MapLibreDrawAdapter extends TerraDrawBaseAdapter {
  private readonly map: MapLibreMap;
  private readonly prefix: string;
  private readonly dragPanInitially: boolean;
  private frame: number | undefined;
  private added = false;

  constructor(config: { map: MapLibreMap; prefix?: string } & BaseAdapterConfig) {
    super(config);
    this.map = config.map;
    this.prefix = config.prefix ?? 'draw';
    this.dragPanInitially = this.map.dragPan.isEnabled();
  }

  private sourceId(kind: GeometryKind): string {
    return `${this.prefix}-${kind.toLowerCase()}`;
  }

  private addLayers(): void {
    if (this.added) return;
    this.added = true;
    for (const kind of KINDS) {
      const id = this.sourceId(kind);
      this.map.addSource(id, { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, tolerance: 0 });
      if (kind === 'Polygon') {
        this.map.addLayer({
          id: `${id}-fill`,
          type: 'fill',
          source: id,
          paint: { 'fill-color': ['get', 'polygonFillColor'], 'fill-opacity': ['get', 'polygonFillOpacity'] },
        });
        this.map.addLayer({
          id: `${id}-outline`,
          type: 'line',
          source: id,
          paint: { 'line-color': ['get', 'polygonOutlineColor'], 'line-width': ['get', 'polygonOutlineWidth'] },
        });
      } else if (kind === 'LineString') {
        this.map.addLayer({
          id: `${id}-line`,
          type: 'line',
          source: id,
          paint: { 'line-color': ['get', 'lineStringColor'], 'line-width': ['get', 'lineStringWidth'] },
        });
      } else {
        this.map.addLayer({
          id: `${id}-circle`,
          type: 'circle',
          source: id,
          paint: {
            'circle-radius': ['get', 'pointWidth'],
            'circle-color': ['get', 'pointColor'],
            'circle-stroke-color': ['get', 'pointOutlineColor'],
            'circle-stroke-width': ['get', 'pointOutlineWidth'],
          },
        });
      }
    }
  }

  private removeLayers(): void {
    if (!this.added) return;
    this.added = false;
    for (const kind of KINDS) {
      const id = this.sourceId(kind);
      for (const layer of [`${id}-fill`, `${id}-outline`, `${id}-line`, `${id}-circle`])
        if (this.map.getLayer(layer)) this.map.removeLayer(layer);
      if (this.map.getSource(id)) this.map.removeSource(id);
    }
  }

  override register(callbacks: DrawCallbacks): void {
    super.register(callbacks);
    this.addLayers();
    callbacks.onReady?.();
  }

  override unregister(): void {
    super.unregister();
    this.removeLayers();
  }

  getMapEventElement(): HTMLElement {
    return this.map.getCanvas();
  }

  getLngLatFromEvent(event: PointerEvent | MouseEvent): { lng: number; lat: number } | null {
    const rect = this.map.getContainer().getBoundingClientRect();
    return this.unproject(event.clientX - rect.left, event.clientY - rect.top);
  }

  project(lng: number, lat: number): { x: number; y: number } {
    const p = this.map.project([lng, lat]);
    return { x: p.x, y: p.y };
  }

  unproject(x: number, y: number): { lng: number; lat: number } {
    const ll = this.map.unproject([x, y]);
    return { lng: ll.lng, lat: ll.lat };
  }

  setCursor(cursor: Cursor): void {
    const canvas = this.map.getCanvas();
    if (cursor === 'unset') canvas.style.removeProperty('cursor');
    else canvas.style.cursor = cursor;
  }

  setDraggability(enabled: boolean): void {
    if (!this.dragPanInitially) return;
    if (enabled) this.map.dragPan.enable();
    else this.map.dragPan.disable();
  }

  setDoubleClickToZoom(enabled: boolean): void {
    if (enabled) this.map.doubleClickZoom.enable();
    else this.map.doubleClickZoom.disable();
  }

  /** Re-render every feature, at most once per animation frame (MapLibre replaces a GeoJSON source's data whole). */
  render(changes: DrawChanges, styling: DrawStyling): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    const all = [...changes.created, ...changes.updated, ...changes.unchanged];
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined;
      if (!this.added) return;
      const byKind: Record<GeometryKind, Feature[]> = { Point: [], LineString: [], Polygon: [] };
      for (const feature of all) {
        const style = styling[feature.properties.mode as string](feature);
        const properties = { ...feature.properties, ...style };
        byKind[feature.geometry.type as GeometryKind]?.push({ ...feature, properties } as Feature);
      }
      for (const kind of KINDS) {
        this.map
          .getSource<GeoJSONSource>(this.sourceId(kind))
          ?.setData({ type: 'FeatureCollection', features: byKind[kind] });
      }
    });
  }

  clear(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    for (const kind of KINDS)
      this.map.getSource<GeoJSONSource>(this.sourceId(kind))?.setData({ type: 'FeatureCollection', features: [] });
  }
}
