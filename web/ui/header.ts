import type { AppContext } from '../context.ts';
import type { CoverageLevel } from '../api/types.ts';
import { label, t, type StringKey } from '../i18n.ts';
import { ruleForCategory, rulesNaming } from '../rules.ts';
import { WORST } from '../state.ts';
import { h, mount } from './dom.ts';

const LEVELS: CoverageLevel[] = ['community', 'residential_area', 'street', 'district'];

/**
 * Title bar with the rule-set, category and area-level selectors and the language switch.
 * `levelsWithData` lists the levels the coverage run has rows for (streets and districts need
 * imported communities).
 */
export function renderHeader(el: HTMLElement, ctx: AppContext, levelsWithData: ReadonlySet<CoverageLevel>): void {
  const s = ctx.store.get();
  const rs = ctx.ruleSet();

  const ruleSetSelect = h(
    'select',
    {
      id: 'rule-set',
      'aria-label': t('ruleSet'),
      onchange: (e: Event) => ctx.store.set({ ruleSetId: (e.target as HTMLSelectElement).value, rule: null }),
    },
    ctx.ruleSets.map((r) => h('option', { value: r.id, selected: r.id === rs.id }, label(r))),
  );

  const measured = ctx.categories.filter((c) => ruleForCategory(rs, c.id));
  const other = ctx.categories.filter((c) => !ruleForCategory(rs, c.id));
  const option = (id: string, text: string) => h('option', { value: id, selected: id === s.category }, text);
  const categorySelect = h(
    'select',
    {
      id: 'category',
      'aria-label': t('category'),
      onchange: (e: Event) => ctx.store.set({ category: (e.target as HTMLSelectElement).value, rule: null }),
    },
    option(WORST, t('worstOfAll')),
    h(
      'optgroup',
      { label: label(rs) },
      measured.map((c) => option(c.id, label(c))),
    ),
    other.length
      ? h(
          'optgroup',
          { label: t('noRule') },
          other.map((c) => option(c.id, label(c))),
        )
      : null,
  );

  // Where several rules name the category (GB 50180: parks of 0.4 / 1 / 5 hm²), the map judges one
  // of them, named here; the default is the rule declared for the category.
  const naming = s.category === WORST ? [] : rulesNaming(rs, s.category);
  const inForce = s.category === WORST ? null : ruleForCategory(rs, s.category, s.rule);
  const ruleSelect =
    naming.length > 1
      ? h(
          'select',
          {
            id: 'rule',
            'aria-label': t('rule'),
            onchange: (e: Event) => ctx.store.set({ rule: (e.target as HTMLSelectElement).value }),
          },
          naming.map((r) => h('option', { value: r.id, selected: r.id === inForce?.id }, label(r))),
        )
      : null;

  const levelSelect = h(
    'select',
    {
      id: 'level',
      'aria-label': t('level'),
      // the selected audit row is an area of the old level (keys of two levels may coincide)
      onchange: (e: Event) =>
        ctx.store.set({ level: (e.target as HTMLSelectElement).value as CoverageLevel, row: null }),
    },
    LEVELS.map((l) => {
      const has = levelsWithData.has(l);
      return h(
        'option',
        { value: l, selected: l === s.level, disabled: !has },
        `${t(`level_${l}` as StringKey)}${has ? '' : ` (${t('levelNone')})`}`,
      );
    }),
  );

  // Several datasets served: switch between them. The page reloads on the other dataset, fitted to
  // its data (no view, point or selection of the old city carried over).
  const shownName = s.dataset ?? ctx.datasets.find((d) => d.is_default)?.name;
  const datasetSelect =
    ctx.datasets.length > 1
      ? h(
          'select',
          {
            id: 'dataset',
            'aria-label': t('dataset'),
            onchange: (e: Event) => {
              const p = new URLSearchParams({
                ds: (e.target as HTMLSelectElement).value,
                rs: s.ruleSetId,
                cat: s.category,
                lvl: s.level,
                lang: s.lang,
              });
              window.location.hash = p.toString();
              window.location.reload();
            },
          },
          ctx.datasets.map((d) =>
            h(
              'option',
              { value: d.name, selected: d.name === shownName },
              d.provenance.is_sample ? `${d.name} (${t('sample')})` : d.name,
            ),
          ),
        )
      : null;

  mount(
    el,
    h(
      'div',
      { class: 'brand' },
      h('h1', {}, t('title')),
      h('div', { class: 'subtitle' }, t('subtitle')),
      ctx.health.dataset?.is_sample ? h('span', { class: 'badge badge-sample' }, t('sampleData')) : null,
    ),
    h(
      'div',
      { class: 'controls' },
      datasetSelect ? h('label', {}, h('span', {}, t('dataset')), datasetSelect) : null,
      h('label', {}, h('span', {}, t('ruleSet')), ruleSetSelect),
      h('label', {}, h('span', {}, t('category')), categorySelect),
      ruleSelect ? h('label', {}, h('span', {}, t('rule')), ruleSelect) : null,
      h('label', {}, h('span', {}, t('level')), levelSelect),
      h(
        'button',
        {
          id: 'lang-switch',
          type: 'button',
          class: 'lang',
          title: t('languageSwitch'),
          onclick: () => ctx.store.set({ lang: s.lang === 'zh' ? 'en' : 'zh' }),
        },
        t('language'),
      ),
    ),
  );
}
