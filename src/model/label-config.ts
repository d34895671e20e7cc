/**
 * Label config parsing: a port of the Python SDK's `parse_config`, `get_first_tag_occurence` and
 * `build_label_map` (PROTOCOL.md §1.6, §2.6). `parseLabelConfig` returns the same JSON as Python,
 * key order included (except that JS puts integer-like keys such as "1" first in objects).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { LabelConfigError } from '../errors.js';

/** An object tag a control points at, as the control's `inputs` list holds it. */
export interface ControlInput {
  type: string;
  /** The task data key: the object's `value` without its leading `$`. */
  value: string;
  valueType: string | null;
}

/** `perRegion="true"` controls shown only for a tag, label or choice. */
export interface ControlConditionals {
  type: 'tag' | 'label' | 'choice';
  name: string;
}

/** One control tag (`<Choices>`, `<Labels>`, `<RectangleLabels>` ...) of the parsed config. */
export interface ControlTag {
  type: string;
  to_name: string[];
  /** Repeater `indexFlag` variables found in `to_name` (each maps to ".*"). */
  regex?: Record<string, string>;
  conditionals?: ControlConditionals;
  /** Labels come from task data (`value="$options"`) or an `apiUrl`, not only from the config. */
  dynamic_labels?: true;
  inputs: ControlInput[];
  /** Label keys (`alias` else `value`) in document order. */
  labels: string[];
  /** Every XML attribute of each label element, keyed like `labels`. */
  labels_attrs: Record<string, Record<string, string>>;
}

/** Control name → control: Python's `parsed_label_config`. */
export type ParsedLabelConfig = Record<string, ControlTag>;

export interface TagFilters {
  /** Only controls whose name passes. */
  nameFilter?: (name: string) => boolean;
  /** Only objects whose name passes. */
  toNameFilter?: (name: string) => boolean;
}

export interface TagOccurrence {
  /** The control's name: `from_name` of results. */
  fromName: string;
  /** The object's name: `to_name` of results. */
  toName: string;
  /** The task data key the object reads (`$text` → `text`). */
  value: string;
}

const LABEL_TAGS = new Set(['Label', 'Choice', 'Relation']);
const NOT_CONTROL_TAGS = new Set(['Filter']);
/** Python `has_variable`: the whole value is one `$variable`. */
const VARIABLE = /^\$[A-Za-z_]+$/;
const ATTR_PREFIX = '@_';
const ATTRS_KEY = ':@';

const xmlParser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  // A prefix keeps attribute names such as `constructor` from tripping the parser's guard.
  attributeNamePrefix: ATTR_PREFIX,
  // Entities and whitespace in attribute values are handled by decodeAttribute, as lxml does.
  processEntities: false,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: 256,
});

/** Object names behind each control's `inputs`, kept aside so the JSON stays Python-shaped. */
const OBJECT_NAMES = new WeakMap<ControlTag, string[]>();

/** Copies of an element the walk needs: its tag name, attributes and child elements. */
interface XmlElement {
  tag: string;
  attrs: Map<string, string>;
  children: XmlElement[];
}

/** Parses a Label Studio label config. Throws LabelConfigError when it is not a single XML element. */
export function parseLabelConfig(xml: string): ParsedLabelConfig {
  const root = readRootElement(xml);

  const controls = new Map<string, ControlTag>();
  const inputs = new Map<string, ControlInput>();
  const labels = new Map<string, Map<string, Record<string, string>>>();
  const variables: string[] = [];
  const ancestorNames: Array<string | undefined> = [];

  // Document order matters: Python walks `xml_tree.iter()` and a label looks for its control
  // among the controls seen so far.
  const visit = (element: XmlElement): void => {
    const { tag, attrs } = element;
    const name = attrs.get('name');
    if (attrs.has('indexFlag')) variables.push(attrs.get('indexFlag') ?? '');

    if (name && attrs.get('toName') && !NOT_CONTROL_TAGS.has(tag)) {
      controls.set(name, readControl(tag, attrs, variables));
    } else if (name && attrs.get('value')) {
      inputs.set(name, {
        type: tag,
        value: stripDollars(attrs.get('value') ?? ''),
        valueType: attrs.get('valueType') ?? null,
      });
    }

    if (LABEL_TAGS.has(tag)) {
      const parent = nearestControl(ancestorNames, controls);
      const key = attrs.get('alias') || attrs.get('value');
      if (parent !== undefined && key) {
        let own = labels.get(parent);
        if (!own) labels.set(parent, (own = new Map()));
        own.set(key, Object.fromEntries(attrs));
      }
    }

    ancestorNames.push(name);
    for (const child of element.children) visit(child);
    ancestorNames.pop();
  };
  visit(root);

  const parsed: ParsedLabelConfig = {};
  for (const [name, control] of controls) {
    // Unknown to_name targets are dropped, as in Python (which only logs them).
    const known = control.to_name.filter((target) => inputs.has(target));
    control.inputs = known.map((target) => ({ ...(inputs.get(target) as ControlInput) }));
    const own = labels.get(name) ?? new Map<string, Record<string, string>>();
    control.labels = [...own.keys()];
    control.labels_attrs = {};
    for (const [key, attributes] of own) setOwn(control.labels_attrs, key, attributes);
    OBJECT_NAMES.set(control, known);
    setOwn(parsed, name, control);
  }
  return parsed;
}

/**
 * Python `get_first_tag_occurence`: the first control of `controlType` with an object of
 * `objectType`. Throws LabelConfigError naming what was looked for and what the config has.
 */
export function getFirstTagOccurrence(
  parsed: ParsedLabelConfig,
  controlType: string | string[],
  objectType: string | string[],
  filters: TagFilters = {},
): TagOccurrence {
  const controlTypes = typeof controlType === 'string' ? [controlType] : controlType;
  const objectTypes = typeof objectType === 'string' ? [objectType] : objectType;
  for (const [fromName, control] of Object.entries(parsed)) {
    if (!controlTypes.includes(control.type)) continue;
    if (filters.nameFilter && !filters.nameFilter(fromName)) continue;
    const names = objectNamesOf(control);
    for (const [i, input] of control.inputs.entries()) {
      const toName = names[i] ?? '';
      if (!objectTypes.includes(input.type)) continue;
      if (filters.toNameFilter && !filters.toNameFilter(toName)) continue;
      return { fromName, toName, value: input.value };
    }
  }
  const present = Object.entries(parsed).map(([name, control]) => {
    const names = objectNamesOf(control);
    const objects = control.inputs.map((input, i) => `${names[i] ?? '?'} <${input.type}>`);
    return `${name} <${control.type}> → ${objects.length ? objects.join(', ') : 'no known object'}`;
  });
  throw new LabelConfigError(
    `No control tag of type ${describeTypes(controlTypes)} with an object tag of type ${describeTypes(objectTypes)} ` +
      `found in the label config${filters.nameFilter || filters.toNameFilter ? ' (with the given name filters)' : ''}; ` +
      `it has: ${present.length ? present.join('; ') : 'no control tags'}`,
  );
}

/**
 * Python `build_label_map`: model label name → label of the control `tagName`. A label's
 * comma-separated `predicted_values` that the model knows map to it; otherwise an exact name
 * match maps label → label, else a lower-case match maps lower(label) → label.
 */
export function buildLabelMap(parsed: ParsedLabelConfig, tagName: string, names: string[]): Record<string, string> {
  const control = Object.hasOwn(parsed, tagName) ? parsed[tagName] : undefined;
  if (!control) {
    throw new LabelConfigError(
      `No control tag named "${tagName}" in the label config; controls: ${Object.keys(parsed).join(', ') || 'none'}`,
    );
  }
  const known = new Set(names);
  const knownLower = new Set(names.map((name) => name.toLowerCase()));
  const map: Record<string, string> = {};
  for (const label of control.labels) {
    const attributes = Object.hasOwn(control.labels_attrs, label) ? control.labels_attrs[label] : undefined;
    const predicted = (attributes?.['predicted_values'] ?? '').split(',');
    let matched = false;
    for (const raw of predicted) {
      const value = raw.trim();
      if (value && known.has(value)) {
        setOwn(map, value, label);
        matched = true;
      }
    }
    if (matched) continue;
    if (known.has(label)) setOwn(map, label, label);
    else if (knownLower.has(label.toLowerCase())) setOwn(map, label.toLowerCase(), label);
  }
  return map;
}

/** For a config that went through JSON (no side table), assume no target was dropped. */
function objectNamesOf(control: ControlTag): string[] {
  return OBJECT_NAMES.get(control) ?? control.to_name;
}

function readControl(tag: string, attrs: Map<string, string>, variables: string[]): ControlTag {
  const control: Partial<ControlTag> & Pick<ControlTag, 'type' | 'to_name'> = {
    type: tag,
    to_name: (attrs.get('toName') ?? '').split(','),
  };
  for (const variable of variables) {
    for (const target of control.to_name) {
      if (target.includes(variable)) {
        control.regex ??= {};
        setOwn(control.regex, variable, '.*');
      }
    }
  }
  if (attrs.get('perRegion') === 'true') {
    const conditionals = readConditionals(attrs);
    if (conditionals) control.conditionals = conditionals;
  }
  if (VARIABLE.test(attrs.get('value') ?? '') || attrs.get('apiUrl')) control.dynamic_labels = true;
  // inputs, labels and labels_attrs are filled (in this key order) once the walk is over.
  return Object.assign(control, { inputs: [], labels: [], labels_attrs: {} });
}

function readConditionals(attrs: Map<string, string>): ControlConditionals | undefined {
  const tagName = attrs.get('whenTagName');
  if (tagName) return { type: 'tag', name: tagName };
  const label = attrs.get('whenLabelValue');
  if (label) return { type: 'label', name: label };
  const choice = attrs.get('whenChoiceValue');
  if (choice) return { type: 'choice', name: choice };
  return undefined;
}

/** Python `_get_parent_output_tag_name`: the nearest ancestor whose name is a known control. */
function nearestControl(ancestorNames: Array<string | undefined>, controls: Map<string, ControlTag>): string | undefined {
  for (let i = ancestorNames.length - 1; i >= 0; i--) {
    const name = ancestorNames[i];
    if (name !== undefined && controls.has(name)) return name;
  }
  return undefined;
}

/** Python `str.lstrip('$')`. */
function stripDollars(value: string): string {
  let start = 0;
  while (value[start] === '$') start++;
  return value.slice(start);
}

function describeTypes(types: string[]): string {
  return types.length === 1 ? (types[0] ?? '') : `one of ${types.join(', ')}`;
}

/** Plain assignment would treat a key such as "__proto__" specially. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// --- XML reading -------------------------------------------------------------------------------

function readRootElement(xml: string): XmlElement {
  if (typeof xml !== 'string') {
    throw new LabelConfigError(`Label config must be a string of XML, got ${xml === null ? 'null' : typeof xml}`);
  }
  const trimmed = xml.trim();
  if (trimmed === '') throw new LabelConfigError('Label config is empty: expected an XML element such as <View>…</View>');
  if (!trimmed.startsWith('<')) {
    throw new LabelConfigError(
      `Label config must be an XML element such as <View>…</View>, but it starts with text: "${excerpt(trimmed)}"`,
    );
  }
  const validation = XMLValidator.validate(xml, { allowBooleanAttributes: false });
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    const where = line ? ` (line ${line}${col ? `, column ${col}` : ''})` : '';
    throw new LabelConfigError(`Label config is not well-formed XML: ${msg}${where}`);
  }
  if (!trimmed.endsWith('>')) {
    throw new LabelConfigError(`Label config has text after its root element: "...${trimmed.slice(-40)}"`);
  }

  let nodes: unknown;
  try {
    nodes = xmlParser.parse(xml);
  } catch (error) {
    throw new LabelConfigError(`Label config could not be parsed: ${(error as Error).message}`, { cause: error });
  }
  const roots = toElements(nodes);
  if (roots.length !== 1) {
    throw new LabelConfigError(
      roots.length === 0
        ? 'Label config has no root element: expected <View>…</View>'
        : `Label config must have exactly one root element, found ${roots.length}: ${roots.map((r) => `<${r.tag}>`).join(', ')}`,
    );
  }
  return roots[0] as XmlElement;
}

/** Turns fast-xml-parser's preserveOrder nodes into elements, skipping text, comments and CDATA. */
function toElements(nodes: unknown): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const elements: XmlElement[] = [];
  for (const node of nodes as Array<Record<string, unknown>>) {
    const tag = Object.keys(node).find((key) => key !== ATTRS_KEY);
    if (tag === undefined || tag.startsWith('#') || tag.startsWith('?')) continue;
    const attrs = new Map<string, string>();
    const rawAttrs = node[ATTRS_KEY];
    if (rawAttrs && typeof rawAttrs === 'object') {
      for (const [key, raw] of Object.entries(rawAttrs as Record<string, unknown>)) {
        const attrName = key.startsWith(ATTR_PREFIX) ? key.slice(ATTR_PREFIX.length) : key;
        attrs.set(attrName, decodeAttribute(attrName, tag, String(raw)));
      }
    }
    elements.push({ tag, attrs, children: toElements(node[tag]) });
  }
  return elements;
}

const PREDEFINED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const REFERENCE = /&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z_:][\w.:-]*)?(;)?/g;

/**
 * XML attribute-value normalisation as lxml does it: literal tabs and line breaks become spaces,
 * then character and predefined entity references are expanded. Anything else is an error.
 */
function decodeAttribute(name: string, tag: string, raw: string): string {
  if (!/[&<\t\n\r]/.test(raw)) return raw;
  if (raw.includes('<')) {
    throw new LabelConfigError(`Label config is not well-formed XML: unescaped '<' in attribute ${name} of <${tag}>`);
  }
  return raw.replace(/\r\n|[\t\n\r]/g, ' ').replace(REFERENCE, (whole, ref: string | undefined, semi: string | undefined) => {
    if (!ref || !semi) {
      throw new LabelConfigError(
        `Label config is not well-formed XML: bare '&' in attribute ${name} of <${tag}> (write &amp;)`,
      );
    }
    if (ref.startsWith('#')) {
      const code = ref.startsWith('#x') ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      if (!isXmlChar(code)) {
        throw new LabelConfigError(`Label config is not well-formed XML: invalid character reference ${whole} in <${tag}>`);
      }
      return String.fromCodePoint(code);
    }
    const value = PREDEFINED_ENTITIES[ref];
    if (value === undefined) {
      throw new LabelConfigError(`Label config is not well-formed XML: entity '${ref}' is not defined (in <${tag}>)`);
    }
    return value;
  });
}

function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

function excerpt(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
