import type { AppContext } from '../context.ts';
import { t, type StringKey } from '../i18n.ts';
import { TABS, type Tab } from '../state.ts';
import { h, mount } from './dom.ts';

export interface Panel {
  readonly element: HTMLElement;
  render(): void;
  /** Called when the panel's tab is shown (fetch what it needs). */
  load?(): Promise<void>;
  /** Called when another tab replaces this one (take what it drew off the map). */
  close?(): void;
}

/** Tabs over the panels; the open tab is part of the shared URL. */
export function renderSidebar(el: HTMLElement, ctx: AppContext, panels: Record<Tab, Panel>): void {
  const current = ctx.store.get().tab;
  const tabs = h(
    'nav',
    { class: 'tabs', role: 'tablist' },
    TABS.map((tab) =>
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          id: `tab-${tab}`,
          'aria-selected': String(tab === current),
          class: tab === current ? 'on' : undefined,
          onclick: () => ctx.store.set({ tab }),
        },
        t(`tab_${tab}` as StringKey),
      ),
    ),
  );
  const body = h('div', { class: 'tab-body', role: 'tabpanel' }, panels[current].element);
  mount(el, tabs, body);
}
