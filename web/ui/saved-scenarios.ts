import { api, savedScenarioCsvUrl } from '../api/client.ts';
import type { InlinePlan, SavedScenario, ScenarioComparison } from '../api/types.ts';
import type { AppContext } from '../context.ts';
import { formatInt, formatShare, label, t } from '../i18n.ts';
import { h, mount } from './dom.ts';
import { describeError } from './errors.ts';
import { TOKEN_KEY } from './plans-panel.ts';

/** What the scenario panel has selected, in the shape POST /api/saved-scenarios takes. */
export interface ScenarioSelection {
  ruleSet: string;
  planIds: number[];
  sites: InlinePlan[];
}

const signed = (n: number) => (n > 0 ? `+${formatInt(n)}` : formatInt(n));

/**
 * Scenarios you can keep: save the scenario panel's selection under a name (planner token, the
 * one the plans tab keeps), list the saved ones with their results' CSV, delete, and compare two
 * side by side rule by rule with GET /api/saved-scenarios/compare (share after, newly covered, b − a).
 */
export class SavedScenariosBlock {
  readonly element = h('div', { class: 'scenario-block saved-scenarios', id: 'saved-scenarios' });
  private list: SavedScenario[] | null = null;
  private listError: string | null = null;
  private name = '';
  private message: { text: string; error: boolean } | null = null;
  private saving = false;
  private tokenError: string | null = null;
  private compareA: number | null = null;
  private compareB: number | null = null;
  private comparison: ScenarioComparison | null = null;
  private compareError: string | null = null;
  private confirmDelete: number | null = null;

  constructor(
    private readonly ctx: AppContext,
    private readonly selection: () => ScenarioSelection | null,
  ) {}

  private get token(): string {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  }

  async load(): Promise<void> {
    try {
      this.list = await api.savedScenarios();
      this.listError = null;
      const ids = new Set(this.list.map((s) => s.id));
      if (this.compareA !== null && !ids.has(this.compareA)) this.compareA = null;
      if (this.compareB !== null && !ids.has(this.compareB)) this.compareB = null;
    } catch (err) {
      this.listError = describeError(err);
    }
    this.render();
  }

  private async checkToken(token: string): Promise<void> {
    try {
      const who = await api.token(token);
      if (!who.can_write_plans) this.tokenError = `${t('err_forbidden')} (${who.role})`;
      else {
        sessionStorage.setItem(TOKEN_KEY, token);
        this.tokenError = null;
      }
    } catch (err) {
      this.tokenError = describeError(err);
    }
    this.render();
  }

  private async save(): Promise<void> {
    const sel = this.selection();
    const name = this.name.trim();
    if (!sel) {
      this.message = { text: t('scenarioNothingSelected'), error: true };
      return this.render();
    }
    if (!name) {
      this.message = { text: t('nameRequired'), error: true };
      return this.render();
    }
    this.saving = true;
    this.message = null;
    this.render();
    try {
      const saved = await api.saveScenario(this.token, {
        name,
        rule_set: sel.ruleSet,
        plan_ids: sel.planIds,
        sites: sel.sites,
      });
      this.message = { text: `${t('savedScenarioSaved')}: #${saved.id} ${saved.name}`, error: false };
      this.name = '';
    } catch (err) {
      this.message = { text: describeError(err), error: true };
    }
    this.saving = false;
    await this.load();
  }

  private async remove(s: SavedScenario): Promise<void> {
    this.confirmDelete = null;
    try {
      await api.deleteSavedScenario(this.token, s.id);
      this.message = { text: `${t('planDeleted')}: #${s.id} ${s.name}`, error: false };
      if (this.comparison && (this.comparison.a.id === s.id || this.comparison.b.id === s.id)) this.comparison = null;
    } catch (err) {
      this.message = { text: describeError(err), error: true };
    }
    await this.load();
  }

  private async compare(): Promise<void> {
    if (this.compareA === null || this.compareB === null) return;
    try {
      this.comparison = await api.compareScenarios(this.compareA, this.compareB);
      this.compareError = null;
    } catch (err) {
      this.comparison = null;
      this.compareError = describeError(err);
    }
    this.render();
  }

  private ruleLabel(key: string): string {
    const [rsId, ruleId] = key.split('/');
    const rule = this.ctx.ruleSets.find((r) => r.id === rsId)?.rules.find((r) => r.id === ruleId);
    return rule ? label(rule) : key;
  }

  private saveBlock(): HTMLElement {
    if (!this.token) {
      const input = h('input', {
        type: 'password',
        id: 'saved-token',
        autocomplete: 'off',
        placeholder: t('tokenPlaceholder'),
        'aria-label': t('token'),
      });
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
        h('button', { type: 'submit', id: 'saved-token-save' }, t('tokenSave')),
        h('p', { class: 'note' }, t('savedScenarioTokenNeeded')),
        this.tokenError ? h('p', { class: 'error', role: 'alert', id: 'saved-token-error' }, this.tokenError) : null,
      );
    }
    const hasSelection = this.selection() !== null;
    return h(
      'form',
      {
        class: 'saved-form',
        id: 'saved-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.save();
        },
      },
      h('input', {
        id: 'saved-name',
        maxlength: 200,
        value: this.name,
        placeholder: t('savedScenarioName'),
        'aria-label': t('savedScenarioName'),
        oninput: (e: Event) => {
          this.name = (e.target as HTMLInputElement).value;
        },
      }),
      h(
        'button',
        { type: 'submit', id: 'saved-save', class: 'primary', disabled: this.saving || !hasSelection },
        this.saving ? t('saving') : t('savedScenarioSave'),
      ),
    );
  }

  private listBlock(): HTMLElement {
    if (this.listError) return h('p', { class: 'error', role: 'alert' }, this.listError);
    if (!this.list) return h('p', { class: 'loading' }, t('loading'));
    if (!this.list.length) return h('p', { class: 'note', id: 'saved-none' }, t('savedScenarioNone'));
    const canWrite = Boolean(this.token);
    return h(
      'ul',
      { class: 'scenario-plans', id: 'saved-list' },
      this.list.map((s) =>
        h(
          'li',
          { 'data-saved-id': s.id },
          h(
            'span',
            { class: 'saved-name' },
            h('strong', {}, `#${s.id} ${s.name}`),
            h(
              'div',
              { class: 'saved-meta' },
              `${s.rule_set} · ${t('savedScenarioPlans')} ${s.plan_ids.length + s.sites} · ${s.created_by} · ${s.created_at.slice(0, 16).replace('T', ' ')}`,
            ),
          ),
          h(
            'span',
            { class: 'drawn-controls' },
            h(
              'a',
              { href: savedScenarioCsvUrl(s.id), class: 'saved-csv', download: `scenario-${s.id}-results.csv` },
              'CSV',
            ),
            canWrite
              ? this.confirmDelete === s.id
                ? h(
                    'button',
                    { type: 'button', class: 'danger', onclick: () => void this.remove(s) },
                    t('confirmDelete'),
                  )
                : h(
                    'button',
                    {
                      type: 'button',
                      class: 'link',
                      onclick: () => {
                        this.confirmDelete = s.id;
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

  private compareBlock(): HTMLElement | null {
    if (!this.list || this.list.length < 2) return null;
    const pick = (id: string, value: number | null, set: (v: number) => void) =>
      h(
        'select',
        {
          id,
          onchange: (e: Event) => {
            set(Number((e.target as HTMLSelectElement).value));
            this.comparison = null;
            this.render();
          },
        },
        h('option', { value: '', selected: value === null }, '—'),
        this.list!.map((s) => h('option', { value: s.id, selected: s.id === value }, `#${s.id} ${s.name}`)),
      );
    const c = this.comparison;
    const table = c
      ? h(
          'table',
          { class: 'scenario', id: 'saved-compare' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, t('scenarioRule')),
              h('th', { class: 'num' }, t('savedShareAfter'), h('br', {}), 'A / B'),
              h('th', { class: 'num' }, t('scenarioNewlyCovered'), h('br', {}), 'A / B'),
              h('th', { class: 'num' }, 'B − A'),
            ),
          ),
          h(
            'tbody',
            {},
            c.rules.map((r) =>
              h(
                'tr',
                { 'data-rule': r.rule },
                h('td', {}, this.ruleLabel(r.rule)),
                h(
                  'td',
                  { class: 'num' },
                  h('span', { 'data-field': 'share-a' }, r.a ? formatShare(r.a.share_after) : '—'),
                  ' / ',
                  h('span', { 'data-field': 'share-b' }, r.b ? formatShare(r.b.share_after) : '—'),
                ),
                h(
                  'td',
                  { class: 'num' },
                  h('span', { 'data-field': 'new-a' }, r.a ? signed(r.a.newly_covered) : '—'),
                  ' / ',
                  h('span', { 'data-field': 'new-b' }, r.b ? signed(r.b.newly_covered) : '—'),
                ),
                h(
                  'td',
                  { class: 'num', 'data-field': 'diff' },
                  h('strong', {}, r.newly_covered_b_minus_a === null ? '—' : signed(r.newly_covered_b_minus_a)),
                ),
              ),
            ),
          ),
        )
      : null;
    return h(
      'div',
      { class: 'saved-compare' },
      h('h4', {}, t('savedCompare')),
      h(
        'div',
        { class: 'compare-pick' },
        h(
          'label',
          {},
          'A ',
          pick('saved-compare-a', this.compareA, (v) => {
            this.compareA = v;
          }),
        ),
        h(
          'label',
          {},
          'B ',
          pick('saved-compare-b', this.compareB, (v) => {
            this.compareB = v;
          }),
        ),
        h(
          'button',
          {
            type: 'button',
            id: 'saved-compare-go',
            disabled: this.compareA === null || this.compareB === null,
            onclick: () => void this.compare(),
          },
          t('savedCompareGo'),
        ),
      ),
      this.compareError ? h('p', { class: 'error', role: 'alert' }, this.compareError) : null,
      table,
      c ? h('div', { class: 'note' }, t('savedCompareNote')) : null,
    );
  }

  render(): void {
    mount(
      this.element,
      h('h4', {}, t('savedScenarios')),
      this.saveBlock(),
      this.message
        ? h(
            'p',
            {
              class: this.message.error ? 'error' : 'ok',
              role: this.message.error ? 'alert' : 'status',
              id: 'saved-message',
            },
            this.message.text,
          )
        : null,
      this.listBlock(),
      this.compareBlock(),
    );
  }
}
