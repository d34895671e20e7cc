import { expect } from 'chai';
import { LabelConfigError } from '../../src/errors.js';
import { LabelInterface, buildLabelMap, getFirstTagOccurrence, parseLabelConfig, parsedView } from '../../src/model/label-config.js';

/** PROTOCOL.md §2.6 worked example (= the T9/T14 config with `$text`). */
const SENTIMENT_CONFIG =
  '<View><Text name="text" value="$text"/><View style="box-shadow: 2px 2px 5px #999; padding: 20px; margin-top: 2em; border-radius: 5px;">' +
  '<Header value="Choose text sentiment"/><Choices name="sentiment" toName="text" choice="single" showInLine="true">' +
  '<Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/></Choices></View></View>';

function expectConfigError(xml: string, pattern: RegExp): LabelConfigError {
  let caught: unknown;
  try {
    parseLabelConfig(xml);
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(LabelConfigError);
  const error = caught as LabelConfigError;
  expect(error.code).to.equal('MLB_ERR_LABEL_CONFIG');
  expect(error.status).to.equal(400);
  expect(error.message).to.match(pattern);
  return error;
}

describe('parseLabelConfig', () => {
  it('gives exactly the Python JSON for the §2.6 worked example, key order included', () => {
    const parsed = parseLabelConfig(SENTIMENT_CONFIG);
    const expected = {
      sentiment: {
        type: 'Choices',
        to_name: ['text'],
        inputs: [{ type: 'Text', value: 'text', valueType: null }],
        labels: ['Positive', 'Negative', 'Neutral'],
        labels_attrs: {
          Positive: { value: 'Positive' },
          Negative: { value: 'Negative' },
          Neutral: { value: 'Neutral' },
        },
      },
    };
    expect(parsed).to.deep.equal(expected);
    // Same serialisation as Python's json.dumps (modulo spaces), so key order matches too.
    expect(JSON.stringify(parsed)).to.equal(
      '{"sentiment":{"type":"Choices","to_name":["text"],"inputs":[{"type":"Text","value":"text","valueType":null}],' +
        '"labels":["Positive","Negative","Neutral"],"labels_attrs":{"Positive":{"value":"Positive"},' +
        '"Negative":{"value":"Negative"},"Neutral":{"value":"Neutral"}}}}',
    );
  });

  it('attaches choices nested in Views inside <Choices> to that control', () => {
    const parsed = parseLabelConfig(
      '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><View><View><Choice value="A"/></View>' +
        '<Choice value="B"/></View></Choices><Choice value="Orphan"/></View>',
    );
    expect(parsed['c']?.labels).to.deep.equal(['A', 'B']);
  });

  it('keys labels by alias when present and keeps every attribute in labels_attrs', () => {
    const parsed = parseLabelConfig(
      '<View><Image name="img" value="$image" valueType="url"/><RectangleLabels name="box" toName="img">' +
        '<Label value="Car" alias="C" background="blue" predicted_values="car,truck"/><Label value="Plane"/>' +
        '</RectangleLabels></View>',
    );
    const box = parsed['box'];
    expect(box?.labels).to.deep.equal(['C', 'Plane']);
    expect(box?.labels_attrs).to.deep.equal({
      C: { value: 'Car', alias: 'C', background: 'blue', predicted_values: 'car,truck' },
      Plane: { value: 'Plane' },
    });
    expect(box?.inputs).to.deep.equal([{ type: 'Image', value: 'image', valueType: 'url' }]);
  });

  it('collects <Relation> children as labels', () => {
    const parsed = parseLabelConfig(
      '<View><Text name="t" value="$t"/><Relations><Relation value="is-a"/></Relations>' +
        '<Labels name="l" toName="t"><Label value="X"/><Relation value="inside"/></Labels></View>',
    );
    expect(parsed['l']?.labels).to.deep.equal(['X', 'inside']);
    expect(Object.keys(parsed)).to.deep.equal(['l']);
  });

  it('records perRegion conditionals (tag, label, choice) after to_name', () => {
    const parsed = parseLabelConfig(
      '<View><Image name="img" value="$img"/><RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels>' +
        '<TextArea name="plate" toName="img" perRegion="true" whenLabelValue="Car"/>' +
        '<Choices name="color" toName="img" perRegion="true" whenTagName="box"><Choice value="Red"/></Choices>' +
        '<TextArea name="note" toName="img" perRegion="true" whenChoiceValue="Red"/>' +
        '<TextArea name="plain" toName="img" whenLabelValue="Car"/></View>',
    );
    expect(parsed['plate']?.conditionals).to.deep.equal({ type: 'label', name: 'Car' });
    expect(parsed['color']?.conditionals).to.deep.equal({ type: 'tag', name: 'box' });
    expect(parsed['note']?.conditionals).to.deep.equal({ type: 'choice', name: 'Red' });
    expect(parsed['plain']).to.not.have.property('conditionals');
    expect(Object.keys(parsed['plate'] ?? {})).to.deep.equal([
      'type',
      'to_name',
      'conditionals',
      'inputs',
      'labels',
      'labels_attrs',
    ]);
  });

  it('marks dynamic labels for a $variable value or an apiUrl, not for other values', () => {
    const parsed = parseLabelConfig(
      '<View><Text name="t" value="$t"/><Choices name="dyn" toName="t" value="$options"/>' +
        '<Taxonomy name="tax" toName="t" apiUrl="https://example.com/tax.json"/>' +
        '<Choices name="fixed" toName="t" value="$options.list"><Choice value="A"/></Choices></View>',
    );
    expect(parsed['dyn']?.dynamic_labels).to.equal(true);
    expect(parsed['tax']?.dynamic_labels).to.equal(true);
    expect(parsed['fixed']).to.not.have.property('dynamic_labels');
    expect(Object.keys(parsed['dyn'] ?? {})).to.deep.equal(['type', 'to_name', 'dynamic_labels', 'inputs', 'labels', 'labels_attrs']);
  });

  it('handles several controls and multi-object to_name, dropping unknown targets', () => {
    const parsed = parseLabelConfig(`
      <View>
        <Labels name="ner" toName="text,missing,title"><Label value="PER"/><Label value="ORG"/></Labels>
        <Text name="text" value="$$text"/>
        <Header name="title" value="$title"/>
        <Choices name="topic" toName="text"><Choice value="Sport"/></Choices>
        <Filter name="f" toName="ner"/>
      </View>`);
    expect(Object.keys(parsed)).to.deep.equal(['ner', 'topic']);
    expect(parsed['ner']?.to_name).to.deep.equal(['text', 'missing', 'title']);
    expect(parsed['ner']?.inputs).to.deep.equal([
      { type: 'Text', value: 'text', valueType: null },
      { type: 'Header', value: 'title', valueType: null },
    ]);
    expect(parsed['topic']?.labels).to.deep.equal(['Sport']);
  });

  it('adds regex for Repeater indexFlag variables in to_name', () => {
    const parsed = parseLabelConfig(
      '<View><Repeater on="$images" indexFlag="{{idx}}"><Image name="image_{{idx}}" value="$images[{{idx}}].url"/>' +
        '<Choices name="c_{{idx}}" toName="image_{{idx}}"><Choice value="A"/></Choices></Repeater></View>',
    );
    expect(parsed['c_{{idx}}']?.regex).to.deep.equal({ '{{idx}}': '.*' });
    expect(parsed['c_{{idx}}']?.inputs).to.deep.equal([{ type: 'Image', value: 'images[{{idx}}].url', valueType: null }]);
  });

  it('decodes entities and normalises whitespace in attribute values as lxml does', () => {
    const parsed = parseLabelConfig(
      '<?xml version="1.0"?>\n<!-- a comment --><View>\n<Text name="t" value="$t"/><Choices name="c" toName="t">' +
        '<Choice value="Fish &amp; Chips"/><Choice value="&lt;b&gt; &#65;&#x42;"/><Choice value="two\nlines"/></Choices></View>\n',
    );
    expect(parsed['c']?.labels).to.deep.equal(['Fish & Chips', '<b> AB', 'two lines']);
  });

  it('returns {} for a config without controls (T3/T4 "<View></View>")', () => {
    expect(parseLabelConfig('<View></View>')).to.deep.equal({});
  });

  it('keeps label keys such as "__proto__" as plain data', () => {
    const parsed = parseLabelConfig(
      '<View><Text name="t" value="$t"/><Choices name="c" toName="t"><Choice value="__proto__" constructor="x"/></Choices></View>',
    );
    expect(parsed['c']?.labels).to.deep.equal(['__proto__']);
    expect(Object.keys(parsed['c']?.labels_attrs ?? {})).to.deep.equal(['__proto__']);
    expect(Object.getPrototypeOf(parsed['c']?.labels_attrs)).to.equal(Object.prototype);
  });

  describe('errors', () => {
    it('rejects an empty config', () => {
      expectConfigError('', /empty/);
      expectConfigError('   \n', /empty/);
    });

    it('rejects text that is not an element', () => {
      expectConfigError('hello world', /must be an XML element.*"hello world"/);
    });

    it('rejects malformed XML with the line and column', () => {
      const error = expectConfigError('<View>\n  <Text name="t" value="$t">\n</View>', /not well-formed XML: .*line \d+/);
      expect(error.message).to.match(/Text|View/);
      expectConfigError('<View>', /Unclosed tag 'View'/);
      expectConfigError('<View a=1/>', /Attribute 'a'/);
    });

    it('rejects several root elements and trailing text', () => {
      expectConfigError('<View/><View/>', /exactly one root element, found 2/);
      expectConfigError('<View/>junk', /text after its root element/);
    });

    it('rejects undefined entities, bare & and < in attributes', () => {
      expectConfigError('<View><Choices name="c" toName="t"><Choice value="&nbsp;"/></Choices></View>', /entity 'nbsp' is not defined/);
      expectConfigError('<View><Choice value="a & b"/></View>', /bare '&'/);
      expectConfigError('<View><Choice value="a < b"/></View>', /'<'/);
    });

    it('rejects a value that is not a string', () => {
      expectConfigError(null as unknown as string, /must be a string/);
    });
  });
});

describe('getFirstTagOccurrence', () => {
  const parsed = parseLabelConfig(
    '<View><Image name="img" value="$image"/><Text name="text" value="$text"/><Text name="title" value="$title"/>' +
      '<RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels>' +
      '<Choices name="first" toName="ghost,title"><Choice value="A"/></Choices>' +
      '<Choices name="second" toName="text"><Choice value="B"/></Choices></View>',
  );

  it('finds the first control of the type with an object of the type', () => {
    expect(getFirstTagOccurrence(parsed, 'Choices', 'Text')).to.deep.equal({
      fromName: 'first',
      toName: 'title',
      value: 'title',
    });
    expect(getFirstTagOccurrence(parsed, ['Labels', 'RectangleLabels'], ['Image'])).to.deep.equal({
      fromName: 'box',
      toName: 'img',
      value: 'image',
    });
  });

  it('applies name and to_name filters', () => {
    expect(getFirstTagOccurrence(parsed, 'Choices', 'Text', { nameFilter: (name) => name !== 'first' })).to.deep.equal({
      fromName: 'second',
      toName: 'text',
      value: 'text',
    });
    expect(getFirstTagOccurrence(parsed, 'Choices', 'Text', { toNameFilter: (name) => name === 'text' }).fromName).to.equal(
      'second',
    );
  });

  it('throws LabelConfigError naming what was looked for and what exists', () => {
    expect(() => getFirstTagOccurrence(parsed, 'Labels', 'Text'))
      .to.throw(LabelConfigError)
      .with.property('message')
      .that.matches(/type Labels with an object tag of type Text/)
      .and.matches(/box <RectangleLabels> → img <Image>/)
      .and.matches(/second <Choices> → text <Text>/);
    expect(() => getFirstTagOccurrence({}, 'Choices', 'Text')).to.throw(LabelConfigError, /no control tags/);
  });

  it('still works on a parsed config that went through JSON', () => {
    const copy = JSON.parse(JSON.stringify(parseLabelConfig(SENTIMENT_CONFIG))) as ReturnType<typeof parseLabelConfig>;
    expect(getFirstTagOccurrence(copy, 'Choices', 'Text')).to.deep.equal({ fromName: 'sentiment', toName: 'text', value: 'text' });
  });
});

describe('buildLabelMap (T7)', () => {
  const configWith = (labels: string) =>
    parseLabelConfig(
      `<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">${labels}</RectangleLabels></View>`,
    );

  it('case 1: no labels -> {}', () => {
    expect(buildLabelMap(configWith(''), 'label', ['car', 'truck'])).to.deep.equal({});
  });

  it('case 2: predicted_values map several model names to one label', () => {
    const parsed = configWith('<Label value="Car" predicted_values="car,truck"/><Label value="Airplane" predicted_values="airplane"/>');
    expect(buildLabelMap(parsed, 'label', ['car', 'truck', 'airplane'])).to.deep.equal({
      car: 'Car',
      truck: 'Car',
      airplane: 'Airplane',
    });
  });

  it('case 3: no predicted_values -> lower-case name match', () => {
    const parsed = configWith('<Label value="Car"/><Label value="Airplane"/>');
    expect(buildLabelMap(parsed, 'label', ['car', 'airplane'])).to.deep.equal({ car: 'Car', airplane: 'Airplane' });
  });

  it('case 4: a label the model does not know is left out', () => {
    const parsed = configWith('<Label value="Car" predicted_values="car"/><Label value="Plane" predicted_values="airplane"/><Label value="Flower"/>');
    expect(buildLabelMap(parsed, 'label', ['car', 'airplane', 'bicycle'])).to.deep.equal({ car: 'Car', airplane: 'Plane' });
  });

  it('case 5: mixed predicted_values and a lower-case match', () => {
    const parsed = configWith('<Label value="Car" predicted_values="car"/><Label value="Plane" predicted_values="airplane"/><Label value="Bicycle"/>');
    expect(buildLabelMap(parsed, 'label', ['car', 'airplane', 'bicycle'])).to.deep.equal({
      car: 'Car',
      airplane: 'Plane',
      bicycle: 'Bicycle',
    });
  });

  it('case 6: an exact match keeps the label name, spaces included', () => {
    const parsed = configWith(
      '<Label value="Car" predicted_values="car"/><Label value="Plane" predicted_values="airplane"/><Label value="Bicycle space"/>',
    );
    expect(buildLabelMap(parsed, 'label', ['car', 'airplane', 'Bicycle space'])).to.deep.equal({
      car: 'Car',
      airplane: 'Plane',
      'Bicycle space': 'Bicycle space',
    });
  });

  it('case 7: predicted_values the model lacks are ignored', () => {
    const parsed = configWith('<Label value="Car" predicted_values="car,truck"/><Label value="Airplane" predicted_values="jet"/>');
    expect(buildLabelMap(parsed, 'label', ['car', 'truck'])).to.deep.equal({ car: 'Car', truck: 'Car' });
  });

  it('trims spaces around predicted_values entries', () => {
    const parsed = configWith('<Label value="Car" predicted_values=" car , truck "/>');
    expect(buildLabelMap(parsed, 'label', ['car', 'truck'])).to.deep.equal({ car: 'Car', truck: 'Car' });
  });

  it('throws LabelConfigError for an unknown control', () => {
    expect(() => buildLabelMap(configWith(''), 'nope', ['car'])).to.throw(LabelConfigError, /"nope".*controls: label/);
  });
});

describe('LabelInterface: the one parsed model of a config (issue 11)', () => {
  const XML =
    '<View><Text name="text" value="$text" granularity="word"/><Image name="img" value="$image"/>' +
    '<Choices name="topic" toName="text" choice="multiple" required="true" showInLine="true"><Choice value="Sport" hotkey="s"/><Choice value="Politics" alias="pol"/></Choices>' +
    '<RectangleLabels name="box" toName="img,missing" perRegion="true" whenTagName="topic"><Label value="Car" background="red"/></RectangleLabels></View>';

  it('keeps every attribute of controls, labels and objects, and the flags models ask for', () => {
    const li = LabelInterface.parse(XML);
    const topic = li.control('topic');
    expect(topic).to.include({ name: 'topic', type: 'Choices', multiple: true, required: true, perRegion: false, dynamicLabels: false });
    expect(topic.attributes).to.deep.equal({ name: 'topic', toName: 'text', choice: 'multiple', required: 'true', showInLine: 'true' });
    expect(topic.labels).to.deep.equal(['Sport', 'pol']);
    expect(topic.labelTags.map((label) => label.attributes)).to.deep.equal([{ value: 'Sport', hotkey: 's' }, { value: 'Politics', alias: 'pol' }]);
    expect(topic.objects.map((object) => [object.name, object.type, object.value, object.attributes.granularity])).to.deep.equal([['text', 'Text', 'text', 'word']]);
    const box = li.control('box');
    expect(box).to.include({ multiple: false, required: false, perRegion: true });
    expect(box.toName).to.deep.equal(['img', 'missing']);
    expect(box.objects.map((object) => object.name)).to.deep.equal(['img']); // unknown targets dropped, as in Python
    expect(box.conditionals).to.deep.equal({ type: 'tag', name: 'topic' });
    expect(li.controlsOfType('Choices', 'Labels').map((control) => control.name)).to.deep.equal(['topic']);
    expect(li.findObject('img')?.type).to.equal('Image');
  });

  it('is the source of the Python view, parsed once per text', () => {
    const li = LabelInterface.parse(XML);
    expect(LabelInterface.parse(XML)).to.equal(li);
    expect(parsedView(li)).to.equal(parseLabelConfig(XML));
    expect(parseLabelConfig(XML).topic?.labels_attrs.pol).to.deep.equal({ value: 'Politics', alias: 'pol' });
    expect(Object.isFrozen(li.control('topic').attributes)).to.equal(true);
  });

  it('names the controls there are when asked for one that is not', () => {
    expect(() => LabelInterface.parse(XML).control('nope')).to.throw(LabelConfigError, 'No control tag named "nope" in the label config; controls: topic, box');
    expect(LabelInterface.forConfig('  ').controls).to.deep.equal([]);
  });
});
