import { describe, expect, it } from 'vitest';
import {
  isRefusal,
  parseOptions,
  reviewStartup,
  type ReviewedSettings,
  type StartupRefusal,
} from '../../../../appliance/protocols/postgres/startup-settings.ts';

const review = (params: Record<string, string>, allowOptions = false, maxStatementSeconds?: number) =>
  reviewStartup(new Map(Object.entries(params)), allowOptions, maxStatementSeconds);

function accepted(r: ReviewedSettings | StartupRefusal): ReviewedSettings {
  if (isRefusal(r)) throw new Error(`refused: ${r.sqlstate} ${r.message}`);
  return r;
}

function refused(r: ReviewedSettings | StartupRefusal): StartupRefusal {
  if (!isRefusal(r)) throw new Error(`accepted: ${JSON.stringify(r.params)}`);
  return r;
}

describe('reviewStartup: plain settings', () => {
  it('passes reviewed settings as given, leaves user and database out, pins client_encoding', () => {
    const r = accepted(review({ user: 'bot', database: 'shop', application_name: 'etl', DateStyle: 'ISO, MDY', TimeZone: 'UTC', extra_float_digits: '3' }));
    expect(r.params).toEqual({ application_name: 'etl', DateStyle: 'ISO, MDY', TimeZone: 'UTC', extra_float_digits: '3', client_encoding: 'UTF8' });
    expect(r.requested).toEqual({ application_name: 'etl', DateStyle: 'ISO, MDY', TimeZone: 'UTC', extra_float_digits: '3' });
  });

  it('every listed setting passes, case-insensitively', () => {
    const names = [
      'application_name', 'datestyle', 'timezone', 'intervalstyle', 'extra_float_digits', 'search_path', 'statement_timeout', 'lock_timeout',
      'idle_in_transaction_session_timeout', 'idle_session_timeout', 'bytea_output', 'default_transaction_isolation',
      'default_transaction_read_only', 'default_transaction_deferrable', 'lc_messages', 'lc_monetary', 'lc_numeric', 'lc_time', 'geqo', 'jit',
    ];
    for (const n of names) {
      expect(accepted(review({ [n]: '1' })).params[n], n).toBe('1');
      expect(accepted(review({ [n.toUpperCase()]: '1' })).params[n.toUpperCase()], n).toBe('1');
    }
  });

  it.each(['UTF8', 'utf8', 'utf-8', 'UTF-8', 'unicode', 'UNICODE', 'SQL_ASCII', 'sql_ascii'])('client_encoding %s is accepted and sent as UTF8', (enc) => {
    const r = accepted(review({ client_encoding: enc }));
    expect(r.params).toEqual({ client_encoding: 'UTF8' });
    expect(r.requested).toEqual({ client_encoding: enc });
  });

  it('a client_encoding key in another case is not passed through beside the pinned one', () => {
    const r = accepted(review({ CLIENT_ENCODING: 'utf-8' }));
    expect(r.params).toEqual({ client_encoding: 'UTF8' });
  });

  it('client_encoding is UTF8 upstream even when the client did not ask for any', () => {
    expect(accepted(review({})).params).toEqual({ client_encoding: 'UTF8' });
  });

  it.each(['SJIS', 'GBK', 'UHC', 'LATIN1', 'BIG5', 'EUC_JP', 'WIN1252', 'auto'])('client_encoding %s is refused (0A000)', (enc) => {
    const r = refused(review({ client_encoding: enc }));
    expect(r.sqlstate).toBe('0A000');
    expect(r.message).toContain(enc);
    expect(r.hint).toMatch(/UTF8/);
  });

  it.each(['on', 'ON', 'true', 'yes', '1'])('standard_conforming_strings %s passes', (v) => {
    expect(accepted(review({ standard_conforming_strings: v })).params.standard_conforming_strings).toBe(v);
  });

  it.each(['off', 'false', 'no', '0', ''])('standard_conforming_strings %j is refused', (v) => {
    const r = refused(review({ standard_conforming_strings: v }));
    expect(r.sqlstate).toBe('0A000');
    expect(r.message).toMatch(/standard_conforming_strings on/);
  });

  it.each(['work_mem', 'role', 'session_authorization', 'escape_string_warning', 'backslash_quote', '_pq_.something', 'replication'])(
    'an unknown parameter (%s) is refused, naming it, with the accepted list',
    (name) => {
      const r = refused(review({ application_name: 'x', [name]: 'v' }));
      expect(r.sqlstate).toBe('0A000');
      expect(r.message).toBe(`the startup parameter "${name}" is not supported through Vigil`);
      expect(r.hint).toContain('application_name');
      expect(r.hint).toContain('client_encoding (UTF8)');
    },
  );
});

describe('reviewStartup: options', () => {
  it('is refused without the policy permission (42501), whatever it holds', () => {
    for (const options of ['-c application_name=x', '', '-c role=admin']) {
      const r = refused(review({ options }));
      expect(r.sqlstate).toBe('42501');
      expect(r.message).toMatch(/"options" is not allowed/);
    }
  });

  it('with the permission, reviewed settings pass and the options string is sent unchanged', () => {
    const options = '-c search_path=app,public --application-name=etl -cDateStyle=ISO';
    const r = accepted(review({ options }, true));
    expect(r.params).toEqual({ options, client_encoding: 'UTF8' });
    expect(r.requested).toEqual({ options });
  });

  it.each([
    ['-c role=admin', '"role"'],
    ['--session_authorization=postgres', '"session_authorization"'],
    ['-c search_path=public -c work_mem=1GB', '"work_mem"'],
  ])('each setting is reviewed: %s is refused', (options, named) => {
    const r = refused(review({ options }, true));
    expect(r.sqlstate).toBe('0A000');
    expect(r.message).toContain(named);
    expect(r.message).toMatch(/\(in options\)$/);
  });

  it('client_encoding=SJIS inside options is refused', () => {
    const r = refused(review({ options: '-c client_encoding=SJIS' }, true));
    expect(r.sqlstate).toBe('0A000');
    expect(r.message).toMatch(/SJIS.*\(in options\)/);
  });

  it('standard_conforming_strings=off inside options is refused', () => {
    expect(refused(review({ options: '--standard-conforming-strings=off' }, true)).sqlstate).toBe('0A000');
  });

  it('an options string Vigil cannot read is refused', () => {
    for (const options of ['-d 5', 'foo', '-c', '-c novalue', '-e -c a=b']) {
      const r = refused(review({ options }, true));
      expect(r.sqlstate, options).toBe('0A000');
      expect(r.message, options).toMatch(/could not read the startup parameter "options"/);
    }
  });

  it('a setting hidden behind a form feed or vertical tab (whitespace to PostgreSQL) is reviewed too', () => {
    // PostgreSQL's pg_split_opts splits on isspace(): \f and \v separate options as a space does.
    for (const sep of ['\f', '\v']) {
      const r = refused(review({ options: `-ctimezone=UTC${sep}-crole=admin` }, true));
      expect(r.message, JSON.stringify(sep)).toContain('"role"');
    }
  });
});

describe('reviewStartup: maxStatementSeconds', () => {
  it('a statement_timeout within the limit passes, and none is injected', () => {
    const r = accepted(review({ statement_timeout: '10s' }, false, 30));
    expect(r.params).toEqual({ statement_timeout: '10s', client_encoding: 'UTF8' });
    expect(accepted(review({ statement_timeout: '30000' }, false, 30)).params.statement_timeout).toBe('30000');
  });

  it.each(['31s', '1min', '0', '-1', 'forever', '0.4'])('statement_timeout %s is refused under a 30 s limit (42501)', (v) => {
    const r = refused(review({ statement_timeout: v }, false, 30));
    expect(r.sqlstate).toBe('42501');
    expect(r.message).toMatch(/\(startup parameter\)$/);
  });

  it('absent: the limit (plus a second) is injected', () => {
    expect(accepted(review({ application_name: 'x' }, false, 30)).params).toEqual({ application_name: 'x', statement_timeout: '31000', client_encoding: 'UTF8' });
    expect(accepted(review({}, false, 1)).params.statement_timeout).toBe('2000');
  });

  it('without a limit nothing is injected and any statement_timeout passes', () => {
    expect(accepted(review({})).params).toEqual({ client_encoding: 'UTF8' });
    expect(accepted(review({ statement_timeout: '0' })).params.statement_timeout).toBe('0');
  });

  it('a statement_timeout given in options is checked against the limit', () => {
    const r = refused(review({ options: '-c statement_timeout=0' }, true, 30));
    expect(r.sqlstate).toBe('42501');
    expect(r.message).toMatch(/\(in options\)$/);
    expect(refused(review({ options: '--statement-timeout=1h' }, true, 30)).sqlstate).toBe('42501');
  });

  it('a statement_timeout within the limit in options passes and is not overridden by an injected one', () => {
    const r = accepted(review({ options: '-c statement_timeout=5s' }, true, 30));
    expect(r.params).toEqual({ options: '-c statement_timeout=5s', client_encoding: 'UTF8' });
  });

  it('the name is matched case-insensitively', () => {
    expect(refused(review({ Statement_Timeout: '0' }, false, 30)).sqlstate).toBe('42501');
    expect(accepted(review({ STATEMENT_TIMEOUT: '1s' }, false, 30)).params).toEqual({ STATEMENT_TIMEOUT: '1s', client_encoding: 'UTF8' });
  });
});

describe('parseOptions', () => {
  it('reads -c name=value, glued or separate, and --name=value', () => {
    expect(parseOptions('-c a=b --c=d -ce=f')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
  });

  it('backslash escapes a space (and any character) into the value', () => {
    expect(parseOptions('-c application_name=my\\ app')).toEqual([['application_name', 'my app']]);
    expect(parseOptions('-c a=x\\\\y')).toEqual([['a', 'x\\y']]);
    expect(parseOptions('-c\\ a=b')).toEqual([[' a', 'b']]);
  });

  it('dashes in names become underscores, not in values', () => {
    expect(parseOptions('--statement-timeout=1-2')).toEqual([['statement_timeout', '1-2']]);
    expect(parseOptions('-c lock-timeout=a-b')).toEqual([['lock_timeout', 'a-b']]);
  });

  it('any run of whitespace separates words', () => {
    expect(parseOptions('  -c\ta=b \n\r --c=d  ')).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('an empty value and = inside a value are kept', () => {
    expect(parseOptions('-c a=')).toEqual([['a', '']]);
    expect(parseOptions('-c a=b=c')).toEqual([['a', 'b=c']]);
  });

  it('empty or blank: no settings', () => {
    expect(parseOptions('')).toEqual([]);
    expect(parseOptions('   ')).toEqual([]);
  });

  it.each(['-c', 'a=b', '-c =b', '-c a', '--a', '--=b', '-d 1', '-e', '-c a=b stray', '-ec a=b'])('malformed %j: undefined', (o) => {
    expect(parseOptions(o)).toBeUndefined();
  });
});
