/** Tiny DOM helpers so the widgets read as a description of their markup. */

type Attrs = Record<string, string | boolean | number | undefined>;

/** Create `<tag>` with attributes (`class`, `data-*`, `testid` → `data-testid`) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) {
      continue;
    }
    const name = key === 'testid' ? 'data-testid' : key;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) {
      el.append(child);
    }
  }
  return el;
}

/** `m:ss` (or `h:mm:ss`) for a number of seconds. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const secs = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}

/** A signed rating change, e.g. `+12` or `-8`. */
export function formatDelta(delta: number): string {
  const rounded = Math.round(delta);
  return rounded > 0 ? `+${rounded}` : rounded < 0 ? `−${Math.abs(rounded)}` : '±0';
}

/** Name a CodeMirror editor's text area for assistive technology (a `textbox` needs an accessible name). */
export function labelEditor(host: HTMLElement, label: string): void {
  host.querySelector('.cm-content')?.setAttribute('aria-label', label);
}
