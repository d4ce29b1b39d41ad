/** Public surface of the agent's configuration (Felix parameters; README "Agent configuration"). */
export {
  type FailsafePort,
  failsafePort,
  FailsafeSyntaxError,
  formatFailsafePort,
  formatFailsafePorts,
  parseFailsafePort,
  parseFailsafePorts,
} from "./failsafe.ts";
export { bitCount, ConfigValueError, type ParamType, type ParseContext } from "./types.ts";
export {
  envName,
  type FelixConfig,
  IGNORED_PARAMS,
  type IgnoredParam,
  kebabName,
  lookupParam,
  PARAM_LIST,
  type ParamField,
  PARAMS,
  type ParamSpec,
  paramSpec,
} from "./params.ts";
export { type IniEntry, IniSyntaxError, parseIni } from "./ini.ts";
export {
  changedParams,
  type ConfigInputs,
  type ConfigNote,
  type ConfigResolution,
  DEFAULT_CONFIG_FILE,
  describeConfig,
  describeSource,
  etcdEndpointsOf,
  formatParam,
  resolveConfig,
} from "./resolve.ts";
export { allocateMarks, DATAPLANE_PARAMS, type MarkBits, toDataplaneConfig } from "./dataplane.ts";
export { detectHostname, fileExists, loadLocalConfig, type LocalConfig } from "./load.ts";
