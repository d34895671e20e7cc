/**
 * The Python SDK's view of a label config: `parse_config`'s JSON (`parsed_label_config`, key
 * order included, except that JS puts integer-like keys such as "1" first), plus
 * `get_first_tag_occurence` and `build_label_map` (PROTOCOL.md §1.6, §2.6). Derived from the
 * one parsed model, LabelInterface.
 */
import { LabelConfigError } from '../../errors.js';
import { setOwn } from '../../util/json.js';
import { LabelInterface, type ControlTag } from './label-interface.js';

/** An object tag a control points at, as the control's `inputs` list holds it. */
export interface ControlInput {
  type: string;
  /** The task data key: the object's `value` without its leading `$`. */
  value: string;
  valueType: string | null;
}

/** One control of `parsed_label_config`. */
export interface ParsedControl {
  type: string;
  to_name: string[];
  /** Repeater `indexFlag` variables found in `to_name` (each maps to ".*"). */
  regex?: Record<string, string>;
  conditionals?: { type: 'tag' | 'label' | 'choice'; name: string };
  /** Labels come from task data (`value="$options"`) or an `apiUrl`, not only from the config. */
  dynamic_labels?: true;
  inputs: ControlInput[];
  /** Label keys (`alias` else `value`) in document order. */
  labels: string[];
  /** Every XML attribute of each label element, keyed like `labels`. */
  labels_attrs: Record<string, Record<string, string>>;
}

/** Control name → control: Python's `parsed_label_config`. */
export type ParsedLabelConfig = Record<string, ParsedControl>;

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

/** Object names behind each control's `inputs`, kept aside so the JSON stays Python-shaped. */
const OBJECT_NAMES = new WeakMap<ParsedControl, string[]>();
const VIEWS = new WeakMap<LabelInterface, ParsedLabelConfig>();

/** The Python-shaped view of a parsed config (computed once per config; do not mutate). */
export function parsedView(labelInterface: LabelInterface): ParsedLabelConfig {
  let view = VIEWS.get(labelInterface);
  if (!view) {
    view = {};
    for (const control of labelInterface.controls) setOwn(view, control.name, toParsedControl(control));
    VIEWS.set(labelInterface, view);
  }
  return view;
}

/** Python `parse_config`: throws LabelConfigError when the text is not a single XML element. */
export function parseLabelConfig(xml: string): ParsedLabelConfig {
  return parsedView(LabelInterface.parse(xml));
}

function toParsedControl(control: ControlTag): ParsedControl {
  const parsed: ParsedControl = {
    type: control.type,
    to_name: [...control.toName],
    ...(control.regex && { regex: { ...control.regex } }),
    ...(control.conditionals && { conditionals: { ...control.conditionals } }),
    ...(control.dynamicLabels && { dynamic_labels: true as const }),
    inputs: control.objects.map((object) => ({ type: object.type, value: object.value, valueType: object.valueType })),
    labels: [...control.labels],
    labels_attrs: {},
  };
  for (const label of control.labelTags) setOwn(parsed.labels_attrs, label.key, { ...label.attributes });
  OBJECT_NAMES.set(parsed, control.objects.map((object) => object.name));
  return parsed;
}

/** For a config that went through JSON (no side table), assume no target was dropped. */
function objectNamesOf(control: ParsedControl): string[] {
  return OBJECT_NAMES.get(control) ?? control.to_name;
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

function describeTypes(types: string[]): string {
  return types.length === 1 ? (types[0] ?? '') : `one of ${types.join(', ')}`;
}
