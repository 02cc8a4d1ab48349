// Logs for the CLI: human lines on stderr when it is a terminal, JSON lines otherwise (and in
// Lambda), so long runs can be followed by a person or by a log pipeline.
import type { Log, LogFields } from '../../ports.ts';

export function createLog(options: { json: boolean; verbose: boolean; write?: (line: string) => void }): Log {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: string, message: string, fields: LogFields = {}) => {
    if (level === 'debug' && !options.verbose) return;
    if (options.json) {
      write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
      return;
    }
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    write(`${level === 'info' ? '' : `${level.toUpperCase()} `}${message}${extra ? ` ${extra}` : ''}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
