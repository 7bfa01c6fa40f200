export { type ExternalData, externalTensor } from './external-data.ts';
export {
  type Attrs,
  type AttrValue,
  type Dim,
  float,
  Graph,
  IR_VERSION,
  MS_DOMAIN,
  NEG,
  OPSET,
  subgraph,
  text,
} from './graph.ts';
export {
  DataType,
  decodeModel,
  encodeModel,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './schema.ts';
