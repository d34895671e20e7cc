/** Label configs: the parsed model (LabelInterface) and the Python SDK's view of it. */
export { LabelInterface, type ControlTag, type ObjectTag, type LabelTag } from './label-config/label-interface.js';
export {
  parseLabelConfig, parsedView, getFirstTagOccurrence, buildLabelMap,
  type ParsedLabelConfig, type ParsedControl, type ControlInput, type TagFilters, type TagOccurrence,
} from './label-config/parsed-view.js';
