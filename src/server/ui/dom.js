/**
 * DOM building without HTML parsing: every string from the backend (project ids, label configs,
 * error messages) becomes a text node, so markup in it is shown, never run.
 */

/**
 * Creates an element. `props`: `class`, `text`, `on<event>` listeners, the properties `hidden`,
 * `disabled` and `value`; anything else is an attribute (`true` → present, false/null → absent).
 * Children are nodes or strings (text nodes); null, undefined and false are skipped.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'hidden' || key === 'disabled' || key === 'value') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Appends nodes and strings (as text) to `parent`. */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `parent`; keyboard focus inside it moves to the new element with the same `data-focus-key`. */
export function replaceChildren(parent, ...children) {
  const active = document.activeElement;
  const key = active && parent.contains(active) ? active.getAttribute('data-focus-key') : null;
  parent.replaceChildren();
  append(parent, children);
  if (key !== null) {
    const again = [...parent.querySelectorAll('[data-focus-key]')].find((el) => el.getAttribute('data-focus-key') === key);
    (again ?? parent.closest('[tabindex]') ?? document.body).focus?.();
  }
}

/**
 * A table: a caption, header cells and rows of cells (strings or nodes).
 * @param {{ caption?: string, headers: Array<string | Node>, rows: Array<Array<string | Node>>, className?: string }} spec
 */
export function table({ caption, headers, rows, className }) {
  return h(
    'table',
    { class: className },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => h('td', {}, cell))))),
  );
}

/** A wide table in a region that scrolls sideways and can be scrolled with the keyboard. */
export function scroller(label, content) {
  return h('div', { class: 'scroller', role: 'region', 'aria-label': label, tabindex: 0 }, content);
}

/** A <time> element showing a date in the reader's locale. */
export function time(iso, text) {
  return iso ? h('time', { datetime: iso, title: iso }, text) : '—';
}

/** Stable id fragment for element ids (project ids are safe names, but ids must never clash). */
export function idPart(value) {
  return String(value).replace(/[^A-Za-z0-9_-]/g, '_');
}
