/**
 * The one parsed model of a label config: every control and object tag with all of its
 * attributes (`choice`, `required`, `perRegion`, ...), the labels of each control, and which
 * objects each control points at. Python's `parsed_label_config` is one view of it
 * (./parsed-view.ts). Parsing is cached by the config's text: /setup runs before predict batches.
 */
import { LRUCache } from 'lru-cache';
import { LabelConfigError } from '../../errors.js';
import { setOwn } from '../../util/json.js';
import { readRootElement, type XmlElement } from './xml.js';

type Attributes = Readonly<Record<string, string>>;

/** An object tag (`<Text>`, `<Image>` ...): what the task data shows. */
export interface ObjectTag {
  readonly name: string;
  readonly type: string;
  /** The task data key: the `value` attribute without its leading `$`. */
  readonly value: string;
  readonly valueType: string | null;
  readonly attributes: Attributes;
}

/** A `<Choice>`, `<Label>` or `<Relation>` of a control. */
export interface LabelTag {
  readonly type: string;
  /** `alias` if set, else `value`: the name results carry. */
  readonly key: string;
  readonly attributes: Attributes;
}

/** A control tag (`<Choices>`, `<Labels>`, `<RectangleLabels>` ...): what annotators produce. */
export interface ControlTag {
  readonly name: string;
  readonly type: string;
  /** `toName` as written (comma-separated targets). */
  readonly toName: readonly string[];
  /** The objects of `toName` that exist in the config, in `toName` order. */
  readonly objects: readonly ObjectTag[];
  /** Label keys in document order. */
  readonly labels: readonly string[];
  readonly labelTags: readonly LabelTag[];
  /** Every XML attribute of the control element. */
  readonly attributes: Attributes;
  /** `choice="multiple"`: several choices (labels) per result. */
  readonly multiple: boolean;
  /** `required="true"`. */
  readonly required: boolean;
  /** `perRegion="true"`. */
  readonly perRegion: boolean;
  /** Labels come from task data (`value="$options"`) or an `apiUrl`, not only from the config. */
  readonly dynamicLabels: boolean;
  /** Repeater `indexFlag` variables found in `toName` (each maps to ".*"). */
  readonly regex?: Readonly<Record<string, string>>;
  /** A perRegion control shown only for a tag, label or choice. */
  readonly conditionals?: { readonly type: 'tag' | 'label' | 'choice'; readonly name: string };
}

const LABEL_TAGS = new Set(['Label', 'Choice', 'Relation']);
const NOT_CONTROL_TAGS = new Set(['Filter']);
/** Python `has_variable`: the whole value is one `$variable`. */
const VARIABLE = /^\$[A-Za-z_]+$/;

interface DraftControl {
  tag: string;
  attrs: Map<string, string>;
  toName: string[];
  regex?: Record<string, string>;
}

export class LabelInterface {
  /** The config text it was parsed from. */
  readonly raw: string;
  readonly controls: readonly ControlTag[];
  readonly objects: readonly ObjectTag[];
  readonly #controls: ReadonlyMap<string, ControlTag>;

  private constructor(raw: string, controls: ControlTag[], objects: ObjectTag[]) {
    this.raw = raw;
    this.controls = Object.freeze(controls);
    this.objects = Object.freeze(objects);
    this.#controls = new Map(controls.map((control) => [control.name, control]));
  }

  static readonly #cache = new LRUCache<string, LabelInterface>({ max: 64 });
  static readonly EMPTY = new LabelInterface('', [], []);

  /** Parses a label config (cached by text). Throws LabelConfigError when it is not usable XML. */
  static parse(xml: string): LabelInterface {
    let parsed = LabelInterface.#cache.get(xml);
    if (!parsed) {
      const { controls, objects } = walk(readRootElement(xml));
      parsed = new LabelInterface(xml, controls, objects);
      LabelInterface.#cache.set(xml, parsed);
    }
    return parsed;
  }

  /** A project's config: the empty interface while none is known yet, else `parse`. */
  static forConfig(text: string): LabelInterface {
    return text.trim() === '' ? LabelInterface.EMPTY : LabelInterface.parse(text);
  }

  findControl(name: string): ControlTag | undefined {
    return this.#controls.get(name);
  }

  /** The control named `name`, or a LabelConfigError naming the controls there are. */
  control(name: string): ControlTag {
    const found = this.#controls.get(name);
    if (found) return found;
    throw new LabelConfigError(`No control tag named "${name}" in the label config; controls: ${[...this.#controls.keys()].join(', ') || 'none'}`);
  }

  /** Controls of any of the given types, in document order. */
  controlsOfType(...types: string[]): ControlTag[] {
    return this.controls.filter((control) => types.includes(control.type));
  }

  findObject(name: string): ObjectTag | undefined {
    return this.objects.find((object) => object.name === name);
  }
}

/** Walks the elements in document order, as Python's `xml_tree.iter()` does. */
function walk(root: XmlElement): { controls: ControlTag[]; objects: ObjectTag[] } {
  const controls = new Map<string, DraftControl>();
  const objects = new Map<string, ObjectTag>();
  const labels = new Map<string, Map<string, LabelTag>>();
  const variables: string[] = [];
  const ancestorNames: Array<string | undefined> = [];

  const visit = (element: XmlElement): void => {
    const { tag, attrs } = element;
    const name = attrs.get('name');
    if (attrs.has('indexFlag')) variables.push(attrs.get('indexFlag') ?? '');

    if (name && attrs.get('toName') && !NOT_CONTROL_TAGS.has(tag)) {
      controls.set(name, draftControl(tag, attrs, variables));
    } else if (name && attrs.get('value')) {
      objects.set(name, freeze({ name, type: tag, value: stripDollars(attrs.get('value') ?? ''), valueType: attrs.get('valueType') ?? null, attributes: attributesOf(attrs) }));
    }

    if (LABEL_TAGS.has(tag)) {
      // A label belongs to the nearest ancestor that is a control seen so far.
      const parent = ancestorNames.findLast((ancestor) => ancestor !== undefined && controls.has(ancestor));
      const key = attrs.get('alias') || attrs.get('value');
      if (parent !== undefined && key) {
        let own = labels.get(parent);
        if (!own) labels.set(parent, (own = new Map<string, LabelTag>()));
        own.set(key, freeze({ type: tag, key, attributes: attributesOf(attrs) }));
      }
    }

    ancestorNames.push(name);
    for (const child of element.children) visit(child);
    ancestorNames.pop();
  };
  visit(root);

  return {
    controls: [...controls].map(([name, draft]) => finishControl(name, draft, objects, [...(labels.get(name)?.values() ?? [])])),
    objects: [...objects.values()],
  };
}

function draftControl(tag: string, attrs: Map<string, string>, variables: string[]): DraftControl {
  const draft: DraftControl = { tag, attrs, toName: (attrs.get('toName') ?? '').split(',') };
  for (const variable of variables) {
    for (const target of draft.toName) {
      if (target.includes(variable)) setOwn((draft.regex ??= {}), variable, '.*');
    }
  }
  return draft;
}

function finishControl(name: string, draft: DraftControl, objects: Map<string, ObjectTag>, labelTags: LabelTag[]): ControlTag {
  const { tag, attrs } = draft;
  const perRegion = attrs.get('perRegion') === 'true';
  const conditionals = perRegion ? readConditionals(attrs) : undefined;
  return freeze({
    name,
    type: tag,
    toName: freeze([...draft.toName]),
    // Unknown toName targets are dropped, as in Python (which only logs them).
    objects: freeze(draft.toName.flatMap((target) => objects.get(target) ?? [])),
    labels: freeze(labelTags.map((label) => label.key)),
    labelTags: freeze(labelTags),
    attributes: attributesOf(attrs),
    multiple: attrs.get('choice') === 'multiple',
    required: attrs.get('required') === 'true',
    perRegion,
    dynamicLabels: VARIABLE.test(attrs.get('value') ?? '') || Boolean(attrs.get('apiUrl')),
    ...(draft.regex && { regex: freeze(draft.regex) }),
    ...(conditionals && { conditionals: freeze(conditionals) }),
  });
}

function readConditionals(attrs: Map<string, string>): ControlTag['conditionals'] {
  const tagName = attrs.get('whenTagName');
  if (tagName) return { type: 'tag', name: tagName };
  const label = attrs.get('whenLabelValue');
  if (label) return { type: 'label', name: label };
  const choice = attrs.get('whenChoiceValue');
  if (choice) return { type: 'choice', name: choice };
  return undefined;
}

/** Attributes as a plain object; own keys only, so "__proto__" stays an attribute name. */
function attributesOf(attrs: Map<string, string>): Attributes {
  const out: Record<string, string> = {};
  for (const [key, value] of attrs) setOwn(out, key, value);
  return Object.freeze(out);
}

/** Python `str.lstrip('$')`. */
function stripDollars(value: string): string {
  let start = 0;
  while (value[start] === '$') start++;
  return value.slice(start);
}

const freeze = <T>(value: T): T => Object.freeze(value);
