import { describe, expect, it } from 'vitest';
import { PROBE_SQL, SessionSettings, computeSearchPath, type KnownSettings } from '../../../../appliance/protocols/postgres/session-settings.ts';

const WITH_TEMP: KnownSettings = { searchPath: ['pg_temp_0', 'pg_catalog', 'postgres', 'public'], role: 'postgres' };
const NO_TEMP: KnownSettings = { searchPath: ['pg_catalog', 'public'], role: 'bot' };

describe('computeSearchPath (as current_schemas(true) reports it; expectations read from PostgreSQL 18)', () => {
  it.each<[string[], string[]]>([
    [['$user', 'public'], ['pg_temp_0', 'pg_catalog', 'postgres', 'public']],
    [['app', 'pg_catalog'], ['pg_temp_0', 'app', 'pg_catalog']],
    [['app', 'pg_temp'], ['pg_catalog', 'app', 'pg_temp_0']],
    [['app', 'app', 'public', 'app'], ['pg_temp_0', 'pg_catalog', 'app', 'public']],
    [['pg_temp', 'pg_catalog', 'app'], ['pg_temp_0', 'pg_catalog', 'app']],
    [['app', '$user', 'postgres'], ['pg_temp_0', 'pg_catalog', 'app', 'postgres']],
    [[], ['pg_temp_0', 'pg_catalog']],
  ])('with a temporary schema: %j → %j', (values, expected) => expect(computeSearchPath(values, WITH_TEMP)).toEqual(expected));

  it.each<[string[], string[]]>([
    [['$user', 'public'], ['pg_catalog', 'bot', 'public']],
    [['app'], ['pg_catalog', 'app']],
    [['app', 'pg_catalog'], ['app', 'pg_catalog']],
    [['pg_temp_0', 'app'], ['pg_catalog', 'pg_temp_0', 'app']],
    [['"$user"'], ['pg_catalog', '"$user"']],
  ])('without one: %j → %j', (values, expected) => expect(computeSearchPath(values, NO_TEMP)).toEqual(expected));

  it('pg_temp without a temporary schema stays a name that holds nothing, after the explicit ones before it', () => {
    expect(computeSearchPath(['app', 'pg_temp', 'public'], NO_TEMP)).toEqual(['pg_catalog', 'app', 'pg_temp', 'public']);
  });

  it('$user follows the current role', () => {
    expect(computeSearchPath(['$user'], { searchPath: ['pg_catalog'], role: 'Etl Bot' })).toEqual(['pg_catalog', 'Etl Bot']);
  });

  it('a temporary schema is recognised only by its pg_temp_ prefix', () => {
    expect(computeSearchPath(['app'], { searchPath: ['pg_toast_temp_1', 'pg_catalog'], role: 'r' })).toEqual(['pg_catalog', 'app']);
    expect(computeSearchPath(['app'], { searchPath: ['pg_catalog', 'pg_temp_12'], role: 'r' })).toEqual(['pg_temp_12', 'pg_catalog', 'app']);
  });
});

describe('SessionSettings', () => {
  const probe = (path: string[], role = 'bot'): (string | null)[] => ['UTF8', 'on', role, JSON.stringify(path)];

  it('the probe qualifies every name it uses', () => {
    expect(PROBE_SQL).not.toMatch(/(^|[^.\w])(current_setting|to_json|current_schemas)\(/);
    expect(PROBE_SQL).toContain('current_user::pg_catalog.text');
  });

  it('is uncertain (path) until the first probe', () => {
    const s = new SessionSettings();
    expect(s.known).toBeUndefined();
    expect(s.uncertainty).toBe('path');
  });

  it('learn: the path and role become known and certain', () => {
    const s = new SessionSettings();
    expect(s.learn(probe(['pg_catalog', 'public']))).toBeUndefined();
    expect(s.known).toEqual({ searchPath: ['pg_catalog', 'public'], role: 'bot' });
    expect(s.uncertainty).toBe('none');
  });

  it('learn accepts UTF8 in any case', () => {
    expect(new SessionSettings().learn(['utf8', 'on', 'bot', '[]'])).toBeUndefined();
  });

  it.each<[(string | null)[], RegExp]>([
    [['SQL_ASCII', 'on', 'bot', '[]'], /client_encoding is SQL_ASCII; Vigil requires UTF8/],
    [['SJIS', 'on', 'bot', '[]'], /client_encoding is SJIS/],
    [[null, 'on', 'bot', '[]'], /client_encoding is unknown/],
    [['UTF8', 'off', 'bot', '[]'], /standard_conforming_strings is off; Vigil requires on/],
    [['UTF8', null, 'bot', '[]'], /standard_conforming_strings is unknown/],
    [['UTF8', 'on', 'bot', '{not json'], /could not read the session search path/],
  ])('learn refuses %j', (row, message) => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    expect(s.learn(row)).toMatch(message);
    // What was known before stays; nothing became certain on a refused probe.
    expect(s.known).toEqual({ searchPath: ['pg_catalog'], role: 'bot' });
  });

  it('opaque: everything uncertain since the given Sync, and the first such point is kept', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    s.opaque(3);
    expect(s.uncertainty).toBe('all');
    expect(s.uncertainSince).toBe(3);
    s.opaque(5);
    expect(s.uncertainSince).toBe(3);
  });

  it('opaque after pathUnknown raises the uncertainty and moves the point', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    s.pathUnknown(2);
    expect(s.uncertainty).toBe('path');
    expect(s.uncertainSince).toBe(2);
    s.opaque(4);
    expect(s.uncertainty).toBe('all');
    expect(s.uncertainSince).toBe(4);
  });

  it('pathUnknown never lowers an uncertainty or moves an earlier point', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    s.pathUnknown(2);
    s.pathUnknown(7);
    expect(s.uncertainSince).toBe(2);
    s.opaque(8);
    s.pathUnknown(9);
    expect(s.uncertainty).toBe('all');
    expect(s.uncertainSince).toBe(8);
  });

  it('a new probe makes everything certain again', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    s.opaque(1);
    expect(s.learn(probe(['pg_catalog', 'app'], 'other'))).toBeUndefined();
    expect(s.uncertainty).toBe('none');
    expect(s.known).toEqual({ searchPath: ['pg_catalog', 'app'], role: 'other' });
  });

  it('pathSet: followed at once, certain until the Sync after it is answered, uncertain from then on', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog', 'public']));
    s.pathSet(['pg_catalog', 'app'], 4); // sent after 4 Syncs, so before the 5th
    expect(s.known?.searchPath).toEqual(['pg_catalog', 'app']);
    expect(s.uncertainty).toBe('none');
    s.synced(3);
    s.synced(4);
    expect(s.uncertainty).toBe('none');
    s.synced(5);
    expect(s.uncertainty).toBe('path');
    expect(s.uncertainSince).toBe(5);
  });

  it('pathSet: only the first change of a batch counts for when it becomes uncertain', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    s.pathSet(['pg_catalog', 'a'], 1);
    s.pathSet(['pg_catalog', 'b'], 2);
    expect(s.known?.searchPath).toEqual(['pg_catalog', 'b']);
    s.synced(2);
    expect(s.uncertainty).toBe('path');
    expect(s.uncertainSince).toBe(2);
  });

  it('pathSet then a probe: the revertible change is forgotten (the next Sync changes nothing)', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    s.pathSet(['pg_catalog', 'a'], 1);
    s.learn(probe(['pg_catalog', 'a']));
    s.synced(5);
    expect(s.uncertainty).toBe('none');
  });

  it('synced without a change pending does nothing', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    s.synced(10);
    expect(s.uncertainty).toBe('none');
  });

  it('pathSet before the first probe keeps nothing known, and the path stays uncertain', () => {
    const s = new SessionSettings();
    s.pathSet(['pg_catalog', 'a'], 0);
    expect(s.known).toBeUndefined();
    s.synced(1);
    expect(s.uncertainty).toBe('path');
  });

  it('an uncertain session after pathSet stays as uncertain as it was', () => {
    const s = new SessionSettings();
    s.learn(probe(['pg_catalog']));
    s.opaque(1);
    s.pathSet(['pg_catalog', 'a'], 1);
    s.synced(2);
    expect(s.uncertainty).toBe('all');
    expect(s.uncertainSince).toBe(1);
  });
});
