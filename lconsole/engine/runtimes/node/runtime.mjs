// lconsole Node.js runtime interface client.
//
// A dependency-free implementation of the Lambda Runtime API (2018-06-01) client loop used by the
// nodejs*.x runtimes: it loads the handler named by _HANDLER from LAMBDA_TASK_ROOT, polls
// /runtime/invocation/next, calls the handler and posts the result or error back. Console output,
// error payloads and init-error reporting follow the shapes the AWS Node.js runtime produces.
//
// Started by the engine as `node runtime.mjs` with cwd = the function's code directory.

import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import util from 'node:util';

const require = createRequire(import.meta.url);
const RUNTIME_FILE = fileURLToPath(import.meta.url);
const API_PREFIX = '/2018-06-01';

// ---------------------------------------------------------------------------------------------
// Errors

function runtimeErrorClass(shortName) {
  const cls = class extends Error {};
  Object.defineProperty(cls.prototype, 'name', {
    value: `Runtime.${shortName}`,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return cls;
}

const ImportModuleError = runtimeErrorClass('ImportModuleError');
const HandlerNotFound = runtimeErrorClass('HandlerNotFound');
const MalformedHandlerName = runtimeErrorClass('MalformedHandlerName');
const UserCodeSyntaxError = runtimeErrorClass('UserCodeSyntaxError');
const UnhandledPromiseRejection = runtimeErrorClass('UnhandledPromiseRejection');

function isErrorLike(value) {
  if (value instanceof Error || util.types.isNativeError(value)) return true;
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    typeof value.stack === 'string'
  );
}

function safeString(value) {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

// The payload posted to /invocation/{id}/error and /init/error (key order matters).
function toRapidResponse(error) {
  if (isErrorLike(error)) {
    let errorType;
    let errorMessage;
    try {
      errorType = safeString(error.name);
      errorMessage = safeString(error.message);
    } catch {
      errorType = 'Error';
      errorMessage = '';
    }
    const trace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
    return {
      errorType: errorType.replace(/\x7F/g, '%7F'),
      errorMessage: errorMessage.replace(/\x7F/g, '%7F'),
      trace: trace.map((line) => line.replace(/\x7F/g, '%7F')),
    };
  }
  return { errorType: typeof error, errorMessage: safeString(error), trace: [] };
}

function withEnumerableProperties(value) {
  if (!isErrorLike(value)) return value;
  const ret = Object.assign(
    { errorType: value.name, errorMessage: value.message, code: value.code },
    value,
  );
  if (typeof value.stack === 'string') ret.stack = value.stack.split('\n');
  return ret;
}

// The text logged after "Invoke Error" / "Uncaught Exception" (AWS prefixes it with a TAB).
function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_key, value) => withEnumerableProperties(value));
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ---------------------------------------------------------------------------------------------
// Logging

const LEVEL_PRIORITY = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
const CONSOLE_LEVELS = [
  ['trace', 'TRACE'],
  ['debug', 'DEBUG'],
  ['info', 'INFO'],
  ['log', 'INFO'],
  ['warn', 'WARN'],
  ['error', 'ERROR'],
  ['fatal', 'FATAL'],
];

const jsonMode = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
const minLevel = jsonMode
  ? (LEVEL_PRIORITY[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] ?? LEVEL_PRIORITY.TRACE)
  : LEVEL_PRIORITY.TRACE;

let currentRequestId; // stays set after an invocation ends, like AWS

function jsonErrorReplacer(_key, value) {
  if (isErrorLike(value)) {
    return {
      errorType: value?.constructor?.name ?? 'UnknownError',
      errorMessage: value.message,
      stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
    };
  }
  return value;
}

function formatJsonLine(level, params) {
  const result = {
    timestamp: new Date().toISOString(),
    level,
    requestId: currentRequestId,
  };
  if (params.length === 1) {
    result.message = params[0];
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(...params);
  for (const param of params) {
    if (isErrorLike(param)) {
      result.errorType = param?.constructor?.name ?? 'UnknownError';
      result.errorMessage = param.message;
      result.stackTrace = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  try {
    return JSON.stringify(result, jsonErrorReplacer);
  } catch {
    return JSON.stringify({ ...result, message: util.format(...params) });
  }
}

function formatTextLine(level, params) {
  const message = util.format(...params).replace(/\n/g, '\r');
  return `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}`;
}

function writeLine(line) {
  try {
    process.stdout.write(line + '\n');
  } catch {
    // stdout gone: nothing sensible to do
  }
}

function patchConsole() {
  for (const [method, level] of CONSOLE_LEVELS) {
    if (LEVEL_PRIORITY[level] < minLevel) {
      console[method] = () => {};
      continue;
    }
    console[method] = (...params) => {
      writeLine(jsonMode ? formatJsonLine(level, params) : formatTextLine(level, params));
    };
  }
}

// "Invoke Error" / "Uncaught Exception" / "Unhandled Promise Rejection" lines.
function logError(prefix, error) {
  if (jsonMode) console.error(prefix, error);
  else console.error(prefix, toFormatted(error));
}

function stderr(message) {
  try {
    process.stderr.write(`lconsole-node-runtime: ${message}\n`);
  } catch {
    // ignore
  }
}

// ---------------------------------------------------------------------------------------------
// Runtime API client

const runtimeApi = process.env.AWS_LAMBDA_RUNTIME_API || '';
const [apiHost, apiPortText] = (() => {
  const idx = runtimeApi.lastIndexOf(':');
  if (idx === -1) return [runtimeApi, '80'];
  return [runtimeApi.slice(0, idx), runtimeApi.slice(idx + 1)];
})();
const apiPort = Number.parseInt(apiPortText, 10) || 80;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function apiRequest(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const reqHeaders = { ...headers };
    if (data !== undefined) reqHeaders['Content-Length'] = data.length;
    const req = http.request(
      {
        host: apiHost.replace(/^\[|\]$/g, ''),
        port: apiPort,
        method,
        path: API_PREFIX + urlPath,
        headers: reqHeaders,
        agent,
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

async function postAndLog(urlPath, body, headers) {
  try {
    const res = await apiRequest('POST', urlPath, body, headers);
    if (res.status !== 202) {
      stderr(`POST ${urlPath} returned ${res.status}: ${res.body}`);
    }
    return res;
  } catch (err) {
    stderr(`POST ${urlPath} failed: ${err && err.message ? err.message : err}`);
    return undefined;
  }
}

function postInitError(error) {
  const payload = toRapidResponse(error);
  return postAndLog('/runtime/init/error', JSON.stringify(payload), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': payload.errorType,
  });
}

function postInvocationError(requestId, error) {
  return postAndLog(
    `/runtime/invocation/${encodeURIComponent(requestId)}/error`,
    JSON.stringify(toRapidResponse(error)),
    { 'Content-Type': 'application/json' },
  );
}

function serializeResult(result) {
  try {
    const text = JSON.stringify(result === undefined ? null : result);
    return text === undefined ? 'null' : text;
  } catch {
    throw new Error('Unable to stringify response body');
  }
}

async function nextInvocation() {
  let res;
  try {
    res = await apiRequest('GET', '/runtime/invocation/next');
  } catch (err) {
    stderr(`GET /runtime/invocation/next failed: ${err && err.message ? err.message : err}`);
    process.exit(1);
  }
  if (res.status !== 200) {
    stderr(`GET /runtime/invocation/next returned ${res.status}: ${res.body}`);
    process.exit(1);
  }
  const requestId = res.headers['lambda-runtime-aws-request-id'];
  if (!requestId) {
    stderr('GET /runtime/invocation/next: missing Lambda-Runtime-Aws-Request-Id');
    process.exit(1);
  }
  return { requestId, headers: res.headers, body: res.body };
}

// ---------------------------------------------------------------------------------------------
// Handler loading

function nearestPackageIsModule(file) {
  let dir = path.dirname(file);
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    try {
      if (fs.statSync(candidate).isFile()) {
        try {
          return JSON.parse(fs.readFileSync(candidate, 'utf8')).type === 'module';
        } catch {
          return false;
        }
      }
    } catch {
      // no package.json here
    }
    const parent = path.dirname(dir);
    if (parent === dir) return false;
    dir = parent;
  }
}

function isFile(file) {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

async function importFile(file) {
  return import(pathToFileURL(file).href);
}

async function requireOrImport(file) {
  try {
    return require(file);
  } catch (err) {
    if (err && err.code === 'ERR_REQUIRE_ESM') return importFile(file);
    throw err;
  }
}

async function loadModule(appRoot, modulePath) {
  const base = path.resolve(appRoot, modulePath);
  const moduleRoot = path.dirname(base);
  const moduleName = path.basename(base);

  if (isFile(base)) return requireOrImport(base); // extensionless file, like AWS
  if (isFile(base + '.js')) {
    return nearestPackageIsModule(base + '.js') ? importFile(base + '.js') : requireOrImport(base + '.js');
  }
  if (isFile(base + '.mjs')) return importFile(base + '.mjs');
  if (isFile(base + '.cjs')) return require(base + '.cjs');
  // Fall back to node_modules resolution (a handler shipped as a package); when nothing matches
  // this throws "Cannot find module '<name>'\nRequire stack:\n- <this file>", as on AWS.
  const resolved = require.resolve(moduleName, { paths: [appRoot, moduleRoot] });
  return requireOrImport(resolved);
}

async function loadHandler(appRoot, handlerString) {
  if (typeof handlerString !== 'string' || handlerString === '') {
    throw new MalformedHandlerName('Bad handler');
  }
  const dot = handlerString.lastIndexOf('.');
  const modulePath = dot === -1 ? '' : handlerString.slice(0, dot);
  const exportName = dot === -1 ? '' : handlerString.slice(dot + 1);
  if (dot === -1 || modulePath === '' || modulePath.endsWith('/')) {
    throw new MalformedHandlerName('Bad handler');
  }
  if (modulePath.split(/[\\/]/).includes('..')) {
    throw new MalformedHandlerName("'..' is not allowed in handler name");
  }

  let userApp;
  try {
    userApp = await loadModule(appRoot, modulePath);
  } catch (err) {
    if (err instanceof SyntaxError) throw new UserCodeSyntaxError(safeString(err));
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new ImportModuleError(safeString(err));
    }
    throw err;
  }

  const handler = exportName === '' || userApp == null ? undefined : userApp[exportName];
  if (handler === undefined || handler === null) {
    throw new HandlerNotFound(`${handlerString} is undefined or not exported`);
  }
  if (typeof handler !== 'function') {
    throw new HandlerNotFound(`${handlerString} is not a function`);
  }
  return handler;
}

// ---------------------------------------------------------------------------------------------
// Invocation

let phase = 'init'; // 'init' | 'idle' | 'invoke'
let inFlight; // { requestId, settled }

function parseJsonHeader(value, name) {
  if (value === undefined || value === '') return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

function buildContext(requestId, headers, callback) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
    getRemainingTimeInMillis() {
      return Number.isFinite(deadline) ? deadline - Date.now() : 0;
    },
  };
  // Legacy helpers, still found in old code.
  Object.defineProperties(context, {
    done: { value: (err, result) => callback(err, result), enumerable: false },
    succeed: { value: (result) => callback(null, result), enumerable: false },
    fail: { value: (err) => callback(err ?? 'handled'), enumerable: false },
  });
  return context;
}

async function postOutcome(state, failed, value) {
  if (failed) {
    logError('Invoke Error', value);
    await postInvocationError(state.requestId, value);
    return;
  }
  let body;
  try {
    body = serializeResult(value);
  } catch (serErr) {
    logError('Invoke Error', serErr);
    await postInvocationError(state.requestId, serErr);
    return;
  }
  await postAndLog(`/runtime/invocation/${encodeURIComponent(state.requestId)}/response`, body, {
    'Content-Type': 'application/json',
  });
}

async function runInvocation(handler, invocation) {
  const { requestId, headers, body } = invocation;
  currentRequestId = requestId;
  const traceId = headers['lambda-runtime-trace-id'];
  if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
  else delete process.env._X_AMZN_TRACE_ID;

  const state = { requestId, settled: false, outcome: undefined };
  inFlight = state;
  phase = 'invoke';

  let resolveOutcome;
  const outcome = new Promise((resolve) => {
    resolveOutcome = resolve;
  });
  state.outcome = outcome;
  // First outcome wins: callback, returned promise, or a synchronous throw.
  const settle = (failed, value) => {
    if (state.settled) return;
    state.settled = true;
    resolveOutcome(postOutcome(state, failed, value));
  };
  const callback = (err, result) => {
    if (err !== undefined && err !== null) settle(true, err);
    else settle(false, result);
  };

  try {
    const context = buildContext(requestId, headers, callback);
    let event;
    try {
      event = JSON.parse(body);
    } catch (err) {
      throw new Error(`Unable to parse event as json: ${err.message}`);
    }
    if (handler.length >= 3) {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === 'function') {
        returned.then(
          (result) => settle(false, result),
          (err) => settle(true, err),
        );
      }
    } else {
      settle(false, await handler(event, context));
    }
  } catch (err) {
    settle(true, err);
  }

  await outcome;
  inFlight = undefined;
  phase = 'idle';
}

// ---------------------------------------------------------------------------------------------
// Process-level failures

async function failInit(error) {
  logError('Uncaught Exception', error);
  await postInitError(error);
  process.exit(1);
}

async function failProcess(prefix, error) {
  logError(prefix, error);
  if (phase === 'init') {
    await postInitError(error);
    process.exit(1);
  }
  const state = inFlight;
  if (state && !state.settled) {
    state.settled = true;
    await postInvocationError(state.requestId, error);
  } else if (state && state.outcome) {
    // A response is already on its way: let it land (bounded) before exiting.
    await Promise.race([state.outcome, new Promise((resolve) => setTimeout(resolve, 1000))]);
  }
  process.exit(129);
}

let crashing = false;

process.on('uncaughtException', (error) => {
  if (crashing) return;
  crashing = true;
  failProcess('Uncaught Exception', error).catch(() => process.exit(129));
});

process.on('unhandledRejection', (reason) => {
  if (crashing) return;
  crashing = true;
  let message;
  try {
    message = reason?.toString();
  } catch {
    message = undefined;
  }
  const error = new UnhandledPromiseRejection(message);
  failProcess('Unhandled Promise Rejection', error).catch(() => process.exit(129));
});

// ---------------------------------------------------------------------------------------------
// Main loop

async function main() {
  patchConsole();
  if (!runtimeApi) {
    stderr('AWS_LAMBDA_RUNTIME_API is not set');
    process.exit(1);
  }
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  try {
    handler = await loadHandler(appRoot, process.env._HANDLER);
  } catch (err) {
    await failInit(err);
    return;
  }
  phase = 'idle';
  for (;;) {
    const invocation = await nextInvocation();
    await runInvocation(handler, invocation);
  }
}

main().catch((err) => {
  stderr(`fatal: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
