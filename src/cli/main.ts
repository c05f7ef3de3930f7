#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { StylecastError, describeError, isStylecastError } from '../core/errors.js';
import { modelsCommand } from './commands/models.js';
import { serveCommand } from './commands/serve.js';
import { stylizeCommand } from './commands/stylize.js';
import type { CliContext } from './context.js';
import { workersLetGo } from '../models/engine.js';

async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const debug = argv.includes('--debug');
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130); // second Ctrl-C: leave now
    controller.abort(StylecastError.aborted(`interrupted (${signal})`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const context: CliContext = { signal: controller.signal, log: (line) => process.stderr.write(line + '\n') };

  const program = new Command('stylecast')
    .description('Live, temporally coherent neural style transfer for video')
    .version('0.1.0')
    .option('--debug', 'print stack traces for errors')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');
  program.addCommand(stylizeCommand(context));
  program.addCommand(modelsCommand(context));
  program.addCommand(serveCommand(context));
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help/version text).
      return error.exitCode === 0 ? 0 : 2;
    }
    const message = describeError(error);
    process.stderr.write(`error: ${message}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(error.stack + '\n');
    return isStylecastError(error) ? error.exitCode : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const code = await main(process.argv.slice(2).filter((a) => a !== '--debug'));
const inFlight = workersLetGo();
if (inFlight.count > 0) {
  // Exiting now would terminate a worker inside ONNX Runtime's run, which aborts the process.
  process.stderr.write('finishing the frame in flight...\n');
  await inFlight.ended;
}
// Exit explicitly: @roamhq/wrtc 0.10 crashes in its native cleanup when Node
// tears the environment down (node-webrtc issue 636). Everything of ours is
// closed by now, and stdout/stderr are synchronous for files and pipes.
process.exit(code);
