/** Run bootstrap() expecting a RootstrapError of a given class, code and exit code. */
import * as assert from 'uvu/assert';
import type { RootstrapError } from '../../src/errors.js';
import { bootstrap, type BootstrapOptions, type BootstrapResult } from '../../src/pipeline.js';

/** Run bootstrap expecting a failure; returns the error after checking its class, code and exit code. */
export async function expectFailure<E extends RootstrapError>(opts: BootstrapOptions, cls: new (...args: never[]) => E, code: string, exitCode: number): Promise<E> {
  let result: BootstrapResult | undefined;
  try {
    result = await bootstrap(opts);
  } catch (error) {
    if (!(error instanceof cls)) throw new assert.Assertion({ message: `expected ${cls.name} ${code}, got ${String(error)}`, actual: error, expects: cls.name, operator: 'instanceof' });
    assert.is(error.code, code, `error code (message: ${error.message})`);
    assert.is(error.exitCode, exitCode, 'exit code');
    return error;
  }
  throw new assert.Assertion({ message: `expected ${cls.name} ${code}, but bootstrap succeeded`, actual: result, expects: code, operator: 'throws' });
}
