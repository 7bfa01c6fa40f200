export { WeightConversionError } from './conversion-error.ts';
export {
  type ConvertedDtype,
  type ConvertedWeights,
  convertWeights,
  type ConvertOptions,
} from './convert-weights.ts';
export { FLOAT16_MAX } from './float16.ts';
