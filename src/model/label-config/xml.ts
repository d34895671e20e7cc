/**
 * Reading a label config's XML into plain elements, the way lxml reads it for the Python SDK:
 * one root element, attribute values normalised and their entities expanded, text, comments,
 * CDATA, declarations and processing instructions skipped.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { LabelConfigError } from '../../errors.js';

/** An element of the config: its tag name, attributes (in document order) and child elements. */
export interface XmlElement {
  tag: string;
  attrs: Map<string, string>;
  children: XmlElement[];
}

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


/** The config's root element. Throws LabelConfigError when it is not a single well-formed XML element. */
export function readRootElement(xml: string): XmlElement {
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
