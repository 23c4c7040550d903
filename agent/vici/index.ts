// VICI client for strongSwan's charon, written for this project (there is no npm package).
export { ViciClient, type RequestOptions, type StreamedResponse, type ViciClientEvents, type ViciClientOptions } from './client';
export {
  decodeMessage,
  decodePacket,
  ElementType,
  encodeMessage,
  encodePacket,
  MAX_SEGMENT_BYTES,
  PacketType,
  toViciMessage,
  viciBool,
  ViciStreamDecoder,
  type ViciInput,
  type ViciInputScalar,
  type ViciInputValue,
  type ViciMessage,
  type ViciPacket,
  type ViciValue,
} from './codec';
export * from './commands';
export { ViciError, ViciProtocolError, type ViciErrorCode } from './errors';
