import type { LngLatBoundsLike } from 'maplibre-gl';
import { api, ApiRequestError } from '../api/client.ts';
import {
  PLAN_KINDS,
  PLAN_STATUSES,
  type Plan,
  type PlanGeometry,
  type PlanKind,
  type PlanStatus,
} from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { formatInt, t, type StringKey } from '../i18n.ts';
import { reloadPlans, showPlanLabels } from '../layers/plans.ts';
import type { DrawKind, DrawSession } from '../map/plan-draw.ts';
import { bboxOf } from './audit-panel.ts';
import { h, mount } from './dom.ts';
import { describeError } from './errors.ts';

/** Where the planner token is kept for the session (the plans and scenario tabs share it). */
export const TOKEN_KEY = 'life-circle.token';

const kindLabel = (k: PlanKind) => t(`plan_kind_${k}` as StringKey);
const statusLabel = (s: PlanStatus) => t(`plan_status_${s}` as StringKey);

/**
 * 两拆一增 plans: the list (anyone), and with a planner token kept in sessionStorage, drawing a
 * site (polygon) or a wall (line) with terra-draw, saving it, changing its status and deleting it.
 */
export class PlansPanel {
  readonly element = h('section', { class: 'panel', id: 'panel-plans' });
  private plans: Plan[] | null = null;
  private listError: string | null = null;
  private message: { text: string; error: boolean } | null = null;
  private drawing: DrawKind | null = null;
  private pending: PlanGeometry | null = null;
  private saving = false;
  private confirmDelete: number | null = null;
  private form = { name: '', kind: 'add_open_space' as PlanKind, status: 'proposed' as PlanStatus, notes: '' };

  constructor(private readonly ctx: AppContext) {
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && (this.drawing || this.pending)) this.cancelDrawing();
    });
  }

  private get token(): string {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  }

  async load(): Promise<void> {
    try {
      this.plans = await api.plans();
      this.listError = null;
      showPlanLabels(this.ctx.map, this.plans);
    } catch (err) {
      this.listError = describeError(err);
    }
    this.render();
  }

  /** What the shared drawing tool reports back to this panel. */
  private readonly session: DrawSession = {
    onFinish: (geometry) => {
      this.pending = geometry;
      this.drawing = null;
      this.form.kind =
        geometry.type === 'LineString'
          ? 'demolish_wall'
          : this.form.kind === 'demolish_wall'
            ? 'add_open_space'
            : this.form.kind;
      this.render();
      this.element.querySelector<HTMLInputElement>('#plan-name')?.focus();
    },
    onTakenOver: () => {
      this.drawing = null;
      this.pending = null;
      this.render();
    },
  };

  private startDrawing(kind: DrawKind): void {
    this.pending = null;
    this.message = null;
    this.drawing = kind;
    this.ctx.drawing = true;
    this.ctx.draw.start(kind, this.session);
    this.render();
  }

  private cancelDrawing(): void {
    this.ctx.draw.stop(this.session);
    this.drawing = null;
    this.pending = null;
    this.ctx.drawing = false;
    this.render();
  }

  private async save(): Promise<void> {
    if (!this.pending) return;
    if (!this.form.name.trim()) {
      this.message = { text: t('nameRequired'), error: true };
      return this.render();
    }
    this.saving = true;
    this.render();
    try {
      const plan = await api.createPlan(this.token, {
        kind: this.form.kind,
        name: this.form.name.trim(),
        status: this.form.status,
        geometry: this.pending,
        notes: this.form.notes.trim() || null,
      });
      this.message = { text: `${t('planSaved')}: #${plan.id} ${plan.name}`, error: false };
      this.form.name = '';
      this.form.notes = '';
      this.saving = false;
      this.cancelDrawing();
      reloadPlans(this.ctx.map);
      await this.load();
    } catch (err) {
      this.saving = false;
      this.message = { text: describeError(err), error: true };
      this.render();
    }
  }

  private async patch(plan: Plan, status: PlanStatus): Promise<void> {
    try {
      await api.updatePlan(this.token, plan.id, plan.version, { status });
      this.message = { text: `${t('planSaved')}: #${plan.id} ${statusLabel(status)}`, error: false };
      reloadPlans(this.ctx.map);
    } catch (err) {
      this.message = { text: conflictOr(err, plan), error: true };
    }
    await this.load();
  }

  private async remove(plan: Plan): Promise<void> {
    this.confirmDelete = null;
    try {
      await api.deletePlan(this.token, plan.id, plan.version);
      this.message = { text: `${t('planDeleted')}: #${plan.id} ${plan.name}`, error: false };
      reloadPlans(this.ctx.map);
    } catch (err) {
      this.message = { text: conflictOr(err, plan), error: true };
    }
    await this.load();
  }

  private tokenBlock(): HTMLElement {
    const input = h('input', {
      type: 'password',
      id: 'plan-token',
      autocomplete: 'off',
      placeholder: t('tokenPlaceholder'),
      'aria-label': t('token'),
    });
    if (this.token) {
      return h(
        'div',
        { class: 'token set' },
        h('span', {}, t('tokenSet')),
        h(
          'button',
          {
            type: 'button',
            id: 'token-clear',
            onclick: () => {
              sessionStorage.removeItem(TOKEN_KEY);
              this.render();
            },
          },
          t('tokenClear'),
        ),
      );
    }
    return h(
      'form',
      {
        class: 'token',
        onsubmit: (e: Event) => {
          e.preventDefault();
          const v = input.value.trim();
          if (v) void this.checkToken(v);
        },
      },
      h('label', {}, t('token'), input),
      h('button', { type: 'submit', id: 'token-save' }, t('tokenSave')),
      h('p', { class: 'note' }, t('tokenNeeded')),
      this.tokenError ? h('p', { class: 'error', role: 'alert', id: 'token-error' }, this.tokenError) : null,
    );
  }

  private tokenError: string | null = null;

  /** Ask the API about a token right away: only one that may write plans is kept. */
  private async checkToken(token: string): Promise<void> {
    try {
      const who = await api.token(token);
      if (!who.can_write_plans) {
        this.tokenError = `${t('err_forbidden')} (${who.role})`;
      } else {
        sessionStorage.setItem(TOKEN_KEY, token);
        this.tokenError = null;
      }
    } catch (err) {
      this.tokenError = describeError(err);
    }
    this.render();
  }

  private formBlock(): HTMLElement | null {
    if (this.drawing) {
      return h(
        'div',
        { class: 'draw-hint', role: 'status' },
        this.drawing === 'polygon' ? t('drawHintPolygon') : t('drawHintLine'),
        h('button', { type: 'button', id: 'draw-cancel', onclick: () => this.cancelDrawing() }, t('cancel')),
      );
    }
    if (!this.pending) return null;
    const kinds = PLAN_KINDS.filter((k) => (this.pending!.type === 'LineString') === (k === 'demolish_wall'));
    return h(
      'form',
      {
        class: 'plan-form',
        id: 'plan-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.save();
        },
      },
      h(
        'label',
        {},
        t('planName'),
        h('input', {
          id: 'plan-name',
          required: true,
          maxlength: 200,
          value: this.form.name,
          oninput: (e: Event) => {
            this.form.name = (e.target as HTMLInputElement).value;
          },
        }),
      ),
      h(
        'label',
        {},
        t('planKind'),
        h(
          'select',
          {
            id: 'plan-kind',
            onchange: (e: Event) => {
              this.form.kind = (e.target as HTMLSelectElement).value as PlanKind;
            },
          },
          kinds.map((k) => h('option', { value: k, selected: k === this.form.kind }, kindLabel(k))),
        ),
      ),
      h(
        'label',
        {},
        t('planStatus'),
        h(
          'select',
          {
            id: 'plan-status',
            onchange: (e: Event) => {
              this.form.status = (e.target as HTMLSelectElement).value as PlanStatus;
            },
          },
          PLAN_STATUSES.map((s) => h('option', { value: s, selected: s === this.form.status }, statusLabel(s))),
        ),
      ),
      h(
        'label',
        {},
        t('planNotes'),
        h(
          'textarea',
          {
            id: 'plan-notes',
            rows: 2,
            maxlength: 5000,
            oninput: (e: Event) => {
              this.form.notes = (e.target as HTMLTextAreaElement).value;
            },
          },
          this.form.notes,
        ),
      ),
      h(
        'div',
        { class: 'buttons' },
        h(
          'button',
          { type: 'submit', id: 'plan-save', class: 'primary', disabled: this.saving },
          this.saving ? t('saving') : t('save'),
        ),
        h('button', { type: 'button', onclick: () => this.cancelDrawing() }, t('cancel')),
      ),
    );
  }

  private zoomTo(plan: Plan): void {
    const box = bboxOf(plan.geometry.coordinates);
    if (box) this.ctx.map.fitBounds(box as LngLatBoundsLike, { padding: 80, maxZoom: 17, duration: 500 });
  }

  private listBlock(): HTMLElement {
    if (this.listError) return h('p', { class: 'error', role: 'alert' }, this.listError);
    if (!this.plans) return h('p', { class: 'loading' }, t('loading'));
    if (!this.plans.length) return h('p', { class: 'note' }, t('noPlans'));
    const canWrite = Boolean(this.token);
    return h(
      'ul',
      { class: 'plan-list', id: 'plan-list' },
      this.plans.map((p) =>
        h(
          'li',
          { 'data-plan-id': p.id },
          h('button', { type: 'button', class: 'link', onclick: () => this.zoomTo(p) }, `#${p.id} ${p.name}`),
          h(
            'div',
            { class: 'plan-meta' },
            kindLabel(p.kind),
            p.area_m2 !== null ? ` · ${formatInt(p.area_m2)} m²` : '',
            p.length_m !== null ? ` · ${formatInt(p.length_m)} m` : '',
          ),
          h(
            'div',
            { class: 'plan-actions' },
            h(
              'select',
              {
                'aria-label': t('planStatus'),
                disabled: !canWrite,
                onchange: (e: Event) => void this.patch(p, (e.target as HTMLSelectElement).value as PlanStatus),
              },
              PLAN_STATUSES.map((s) => h('option', { value: s, selected: s === p.status }, statusLabel(s))),
            ),
            canWrite
              ? this.confirmDelete === p.id
                ? h(
                    'button',
                    { type: 'button', class: 'danger', onclick: () => void this.remove(p) },
                    t('confirmDelete'),
                  )
                : h(
                    'button',
                    {
                      type: 'button',
                      onclick: () => {
                        this.confirmDelete = p.id;
                        this.render();
                      },
                    },
                    t('delete'),
                  )
              : null,
          ),
        ),
      ),
    );
  }

  render(): void {
    const canWrite = Boolean(this.token);
    mount(
      this.element,
      this.tokenBlock(),
      canWrite
        ? h(
            'div',
            { class: 'draw-buttons' },
            h(
              'button',
              {
                type: 'button',
                id: 'draw-polygon',
                class: this.drawing === 'polygon' ? 'on' : undefined,
                onclick: () => this.startDrawing('polygon'),
              },
              `▱ ${t('drawPolygon')}`,
            ),
            h(
              'button',
              {
                type: 'button',
                id: 'draw-line',
                class: this.drawing === 'linestring' ? 'on' : undefined,
                onclick: () => this.startDrawing('linestring'),
              },
              `╱ ${t('drawLine')}`,
            ),
          )
        : null,
      this.formBlock(),
      this.message
        ? h(
            'p',
            {
              class: this.message.error ? 'error' : 'ok',
              role: this.message.error ? 'alert' : 'status',
              id: 'plan-message',
            },
            this.message.text,
          )
        : null,
      h('h3', {}, t('plansList')),
      this.listBlock(),
    );
  }
}

/**
 * A 412 means someone changed the plan after this list was loaded: say so, naming the plan; the
 * list reloads right after, so the user sees the newer version before trying again.
 */
function conflictOr(err: unknown, plan: Plan): string {
  if (err instanceof ApiRequestError && err.status === 412) return `${t('planConflict')}: #${plan.id} ${plan.name}`;
  return describeError(err);
}
