// CommonJS support for the worker's interpreters (the JS half of fazt/runtime/wrappers.py).
//
// How the worker uses it (once per interpreter, before any site module; evaluate it as an ES module
// or a script, e.g. evaluate_module(src, "fazt:cjs")):
//  1. export a worker-local Python function named "fazt.modules.require" taking (fromPath, specifier)
//     and returning fazt.runtime.modules.require_info(fromPath, specifier, paths, read_text): either
//     {path, format: "cjs" | "json" | "esm", source} or {error: message}. It must be exported BEFORE
//     this file runs: call_python is captured here at load time.
//  2. load every CommonJS file that an ES module imports with wrappers.esm_from_commonjs(path, source)
//     (it calls __fazt_cjs.load below) and every .json file with wrappers.esm_from_json(text).
// Defines two hidden globals (non-enumerable, not writable):
//  - __fazt_require(fromPath, specifier): require() as seen from the site file fromPath; returns that
//    module's module.exports. CommonJS and JSON files only: a require() of an ES module throws
//    (it cannot be loaded synchronously).
//  - __fazt_cjs: {load(path, source), compile(path, source)}. load runs a CommonJS file once per
//    interpreter (cached by path; a cycle sees the partial exports, as in Node) and returns
//    module.exports. compile only compiles (deploy checks: a syntax error, nothing run); it throws a
//    SyntaxError whose message names the file and line.
// A CommonJS file is compiled with an indirect eval, so it runs in sloppy mode like in Node (an ES
// module would force strict mode). Its lines keep their numbers: the function header shares line 1.
// Stack frames of CommonJS code name "<input>" rather than the file (QuickJS has no sourceURL).
'use strict';

(function () {
  const callPython = globalThis.call_python;
  const QuickJSInternalError = InternalError;
  const indirectEval = globalThis.eval;
  const cache = new Map();
  const HEAD = '(function (exports, require, module, __filename, __dirname) {';

  // As in prelude.js: once the run's CPU budget is gone, every host call answers {abort: true} (or
  // dukpy throws "interrupted"); spin so the next CPU-timer tick stops the interpreter, uncatchably.
  function spinUntilInterrupted() {
    for (;;) {}
  }

  function hidden(name, value) {
    Object.defineProperty(globalThis, name, {value, writable: false, enumerable: false, configurable: false});
  }

  function dirname(path) {
    const slash = path.lastIndexOf('/');
    return slash < 0 ? '' : path.slice(0, slash);
  }

  function compile(path, source) {
    try {
      return indirectEval(HEAD + source + '\n})');
    } catch (error) {
      if (error instanceof SyntaxError) {
        const where = /<input>:(\d+)/.exec(String(error.stack || ''));
        throw new SyntaxError(`${error.message} (${path}${where ? ':' + where[1] : ''})`);
      }
      throw error;
    }
  }

  function makeRequire(fromPath) {
    const require = (specifier) => requireFrom(fromPath, specifier);
    require.resolve = (specifier) => lookup(fromPath, specifier).path;
    require.cache = Object.create(null);
    return require;
  }

  function load(path, source) {
    const cached = cache.get(path);
    if (cached) return cached.exports;
    const module = {id: path, filename: '/' + path, path: '/' + dirname(path), loaded: false,
      exports: {}, children: [], paths: []};
    module.require = makeRequire(path);
    cache.set(path, module);
    try {
      const factory = compile(path, source);
      factory.call(module.exports, module.exports, module.require, module, '/' + path, '/' + dirname(path));
    } catch (error) {
      cache.delete(path);
      throw error;
    }
    module.loaded = true;
    return module.exports;
  }

  function lookup(fromPath, specifier) {
    if (typeof specifier !== 'string') throw new TypeError('require() takes a string');
    let answer;
    try {
      answer = callPython('fazt.modules.require', fromPath, specifier);
    } catch (error) {
      if (error instanceof QuickJSInternalError && error.message === 'interrupted') spinUntilInterrupted();
      throw error;
    }
    if (answer !== null && typeof answer === 'object' && answer.abort === true) spinUntilInterrupted();
    if (!answer || typeof answer !== 'object' || answer.error) {
      const error = new Error(answer && answer.error ? answer.error : `cannot require '${specifier}'`);
      error.code = 'MODULE_NOT_FOUND';
      throw error;
    }
    return answer;
  }

  function requireFrom(fromPath, specifier) {
    const found = lookup(fromPath, specifier);
    const cached = cache.get(found.path);
    if (cached) return cached.exports;
    if (found.format === 'json') {
      const module = {exports: JSON.parse(found.source), loaded: true};
      cache.set(found.path, module);
      return module.exports;
    }
    if (found.format !== 'cjs') {
      const error = new Error(`require() of the ES module '${found.path}' from ${fromPath} is not supported: use import`);
      error.code = 'ERR_REQUIRE_ESM';
      throw error;
    }
    return load(found.path, found.source);
  }

  hidden('__fazt_require', requireFrom);
  hidden('__fazt_cjs', Object.freeze({load, compile: (path, source) => { compile(path, source); return null; }}));
})();
