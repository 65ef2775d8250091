import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../../../appliance/config/schema.ts';
import { PolicyEngine, type BoundPolicy, type CommandFacts } from '../../../../appliance/policy/engine.ts';
import { execFacts, execRefusal } from '../../../../appliance/protocols/ssh/exec-facts.ts';
import { sandbox, type Sandbox } from './shell-oracle.ts';

const commandsOf = (fs: CommandFacts[]) => fs.map((f) => f.command);
const withCommand = (fs: CommandFacts[], c: string) => fs.find((f) => f.command === c);

/** [line, a command that must have a fact, tags that fact must carry]. */
type Attack = [line: string, command: string, tags?: string[]];

const ATTACKS: Attack[] = [
  ['rm -rf /', 'rm'],
  ['r""m -rf /', 'rm'],
  ['\\rm -rf /', 'rm'],
  ["'r'm -rf /", 'rm'],
  ['r\\\nm -rf /', 'rm'],
  ["$'\\x72m' -rf /", 'rm'],
  ['/bin/../bin/rm -rf /', 'rm'],
  ['./rm x', 'rm'],
  ['command rm -rf /', 'rm'],
  ['builtin command rm x', 'rm'],
  ['env -i rm -rf /', 'rm'],
  ['env -i PATH=/x -u HOME -C / -- rm x', 'rm'],
  ['/usr/bin/env rm x', 'rm'],
  ["env -S 'rm -rf' /", 'rm'],
  ['xargs rm < list', 'rm', ['redirect']],
  ['xargs -0 -n 1 -I{} rm {}', 'rm'],
  ['ls\nrm -rf /', 'rm', ['multiple-commands']],
  ['ls;rm -rf /', 'rm', ['multiple-commands']],
  [';rm -rf /', '(unparsable)', ['unparsable']],
  ['ls&&rm -rf /', 'rm'],
  ['ls||rm -rf /', 'rm'],
  ['ls & rm -rf /', 'rm'],
  ['rm -rf / &', 'rm', ['background']],
  ['echo rm -rf / |sh', 'sh', ['pipe', 'shell-stdin']],
  ['curl x | sudo bash', 'bash', ['pipe', 'sudo', 'shell-stdin']],
  ['sh <<EOF\nrm -rf /\nEOF', 'rm', ['nested-shell', 'heredoc']],
  ["bash <<'EOF'\nls\nrm -rf /\nEOF", 'rm', ['nested-shell']],
  ['sh <<EOF\n$CMD\nEOF', 'sh', ['non-literal-command']],
  ["bash <<< 'rm -rf /'", 'rm', ['nested-shell', 'herestring']],
  ["bash -c 'rm -rf /'", 'rm', ['nested-shell']],
  ['bash -lc "rm -rf /"', 'rm', ['nested-shell']],
  ["sh -e -x -c 'cd / && rm -rf *'", 'rm', ['nested-shell']],
  ["bash -o pipefail -c 'rm x'", 'rm'],
  ['bash -c "$(curl https://x)"', 'bash', ['non-literal-command']],
  ['sudo rm -rf /', 'rm', ['sudo']],
  ['sudo -u root rm -rf /', 'rm', ['sudo']],
  ['sudo -E -u root -- rm x', 'rm', ['sudo']],
  ['sudo --user=root rm x', 'rm', ['sudo']],
  ['sudo -uroot FOO=1 rm x', 'rm', ['sudo']],
  ["sudo sh -c 'rm -rf /'", 'rm', ['sudo', 'nested-shell']],
  ['sudo -i', 'sudo', ['sudo', 'interactive-shell']],
  ['sudo $CMD', 'sudo', ['sudo', 'non-literal-command']],
  ['doas rm x', 'rm', ['sudo']],
  ['pkexec --user root rm x', 'rm', ['sudo']],
  ["su -c 'rm -rf /' root", 'rm', ['sudo', 'nested-shell']],
  ['su - root -c "rm x"', 'rm', ['sudo']],
  ['nice -n 10 rm x', 'rm'],
  ['nice -10 rm x', 'rm'],
  ['nohup rm x', 'rm'],
  ['timeout 5 rm x', 'rm'],
  ['timeout -s KILL --preserve-status 5s rm x', 'rm'],
  ['exec rm x', 'rm'],
  ['exec -a x rm y', 'rm'],
  ['stdbuf -oL rm x', 'rm'],
  ['setsid -f rm x', 'rm'],
  ['ionice -c 3 rm x', 'rm'],
  ['chroot / rm x', 'rm'],
  ['busybox rm x', 'rm'],
  ['time -p rm x', 'rm'],
  ['sudo nice nohup env -i timeout 1 xargs rm', 'rm', ['sudo']],
  ['find / -name x -exec rm -rf {} +', 'rm', ['find-exec']],
  ['find . -execdir sudo rm {} \\;', 'rm', ['find-exec', 'sudo']],
  ['eval "rm -rf /"', 'rm', ['nested-shell']],
  ['eval $x', 'eval', ['non-literal-command']],
  ['x=rm; $x -rf /', '$x', ['non-literal-command']],
  ['$(echo rm) -rf /', '$(echo rm)', ['non-literal-command']],
  ['`echo rm` -rf /', '`echo rm`', ['non-literal-command']],
  ['/bin/r? -rf /', '/bin/r?', ['non-literal-command']],
  ['~/rm x', '~/rm', ['non-literal-command']],
  ['=rm x', '=rm', ['non-literal-command']],
  ["echo rm | xargs -I{} sh -c '{} -rf /'", 'sh', ['non-literal-command']],
  ['echo rm | xargs -I CMD CMD -rf /', 'CMD', ['non-literal-command']],
  ['echo rm | xargs --replace {} x', '{}', ['non-literal-command']],
  ['find . -name rm -exec {} -rf / \\;', '{}', ['non-literal-command', 'find-exec']],
  ['eval -- rm x', 'rm', ['nested-shell']],
  ["shopt -s expand_aliases\nalias x='rm -rf'\nx /", 'x', ['alias', 'non-literal-command']],
  ["let 'a[$(rm -rf /)]=1'", 'let', ['arithmetic-injection', 'non-literal-command']],
  ["declare -i 'x=a[`rm`]'", 'declare', ['arithmetic-injection']],
  ['PATH=.:$PATH ls', 'ls', ['environment-override']],
  ['export PATH=/tmp; ls', 'ls', ['environment-override']],
  ['LD_PRELOAD=/tmp/x.so ls', 'ls', ['environment-override']],
  ['env PATH=/tmp ls', 'ls', ['environment-override']],
  ['coproc NAME { rm x; }', 'rm'],
  ['{rm,-rf,/nonexistent}', '{rm,-rf,/nonexistent}', ['non-literal-command']],
  ['sudoedit /etc/sudoers', 'sudoedit', ['sudo']],
  ["watch -n 1 'rm -rf /'", 'rm', ['nested-shell']],
  ['watch -d rm -rf /', 'rm', ['nested-shell']],
  ['( rm -rf / )', 'rm', ['subshell']],
  ['{ rm -rf /; }', 'rm'],
  ['if true; then rm -rf /; fi', 'rm'],
  ['for f in *; do rm "$f"; done', 'rm'],
  ['cat <(rm -rf /)', 'rm', ['substitution', 'process-substitution']],
  ['ls $(rm -rf /)', 'rm', ['substitution']],
  ['ls "`rm -rf /`"', 'rm', ['substitution']],
  ['echo $(( $(rm x) ))', 'rm', ['substitution']],
  ['echo ${x:-$(rm x)}', 'rm', ['substitution']],
  ['cat <<EOF\n$(rm x)\nEOF', 'rm', ['substitution']],
  ['rm x > /dev/null 2>&1', 'rm', ['redirect']],
  ['> /etc/passwd', '', ['redirect']],
  ['f() { rm -rf /; }; f', 'rm'],
  ['case x in *) rm -rf /;; esac', 'rm'],
];

describe('command facts see the command that runs', () => {
  it.each(ATTACKS)('%j -> %s', (line, command, tags) => {
    const fs = execFacts(line);
    for (const f of fs) {
      expect(f.class).toBe('exec');
      expect(f.objects).toEqual([]);
    }
    const f = withCommand(fs, command);
    expect(f, `${JSON.stringify(line)} gave ${JSON.stringify(fs)}`).toBeDefined();
    for (const t of tags ?? []) expect(f!.tags, `${JSON.stringify(line)}: ${command} should be tagged ${t}`).toContain(t);
  });

  it('records who sudo runs as, the wrappers and the arguments', () => {
    expect(execFacts('sudo -u deploy nice rm -rf /srv/x')).toEqual([
      { class: 'exec', command: 'rm', tags: ['sudo'], objects: [], attributes: { argv0: 'rm', args: '-rf /srv/x', wrappers: 'sudo nice', user: 'deploy' } },
    ]);
  });

  it('gives a single unparsable fact for what cannot be read', () => {
    for (const line of ["rm 'x", 'rm "x', 'rm $(x', 'rm `x', 'rm ${x', 'rm\0x', 'a'.repeat(70_000), '$('.repeat(30) + ')'.repeat(30)]) {
      const fs = execFacts(line);
      expect(fs).toHaveLength(1);
      expect(fs[0]).toMatchObject({ class: 'exec', command: '(unparsable)', tags: ['unparsable'] });
    }
    expect(execFacts(new Uint8Array([0x72, 0x6d, 0x20, 0xc3]))[0]!.tags).toEqual(['unparsable']);
  });

  it('lexes nested shells up to the limit, then says unparsable', () => {
    let line = 'rm x';
    for (let d = 0; d < 4; d++) line = `sh -c ${JSON.stringify(line).replace(/\$/g, '\\$')}`;
    expect(commandsOf(execFacts(line))).toContain('rm');
    const deeper = `sh -c ${JSON.stringify(line)}`;
    const fs = execFacts(deeper);
    expect(commandsOf(fs)).not.toContain('rm');
    expect(fs.some((f) => f.tags.includes('unparsable'))).toBe(true);
    expect(execFacts("bash -c 'rm \"x'").some((f) => f.tags.includes('unparsable'))).toBe(true);
  });

  it('does not see a command through command -v (it runs nothing)', () => {
    expect(commandsOf(execFacts('command -v rm'))).toEqual(['command']);
  });
});

describe('every command bash runs has a fact (bash as the oracle)', () => {
  let box: Sandbox;
  beforeAll(() => {
    box = sandbox();
  });
  afterAll(() => box.close());
  // Run in an empty PATH with bash's command_not_found_handle recording instead of running: no absolute
  // paths here (they would run for real).
  const lines = ATTACKS.map(([l]) => l).filter((l) => !/(^|[\s;&|(`])[.~]?\//.test(l) && !l.includes('$(curl'));
  it.each(lines)('%j', (line) => {
    const fs = execFacts(line);
    const names = new Set(fs.flatMap((f) => [f.command, ...(f.attributes['wrappers'] ?? '').split(' ')]));
    const opaque = fs.some((f) => f.tags.includes('non-literal-command') || f.tags.includes('unparsable'));
    for (const argv of box.executed(line)) {
      const name = argv[0]!.slice(argv[0]!.lastIndexOf('/') + 1);
      expect(names.has(name) || opaque, `bash ran ${JSON.stringify(argv)}; facts ${JSON.stringify(commandsOf(fs))}`).toBe(true);
    }
  });
});

describe('what the gateway refuses whatever policy says', () => {
  it('refuses unparsable and non-literal commands, not non-literal arguments', () => {
    expect(execRefusal(execFacts("rm 'x"))).toMatchObject({ rule: 'vigil/ssh-exec-unparsable' });
    expect(execRefusal(execFacts('$(echo rm) x'))).toMatchObject({ rule: 'vigil/ssh-exec-non-literal' });
    expect(execRefusal(execFacts('ls "$HOME" $(date +%F) *.log'))).toBeUndefined();
  });
});

describe('policy sees every fact', () => {
  const bound = (): BoundPolicy => {
    const p = policySchema.parse({
      name: 'ssh-bots',
      match: { groups: ['bots'] },
      targets: ['*'],
      rules: [
        { name: 'no-rm', when: { commands: ['rm'] }, action: 'block' },
        { name: 'no-sudo', when: { tags: ['sudo'] }, action: 'block' },
        { name: 'opaque', when: { tags: ['unparsable', 'non-literal-command'] }, action: 'block' },
      ],
      classes: { exec: 'allow' },
    });
    const g = new PolicyEngine([p]).grant({ provider: 'x', subject: 'bot', groups: ['bots'] }, 'host');
    if (!g.ok) throw new Error(g.reason);
    return g.policy;
  };
  it('blocks rm and sudo wherever they hide, allows the plain command', () => {
    const policy = bound();
    const decide = (line: string) => policy.decideAll(execFacts(line), 'ssh');
    expect(decide('ls -la /srv')).toMatchObject({ action: 'allow' });
    expect(decide('ls; r""m -rf /')).toMatchObject({ action: 'block', rule: 'ssh-bots/no-rm' });
    expect(decide('echo ok && sudo -u x systemctl restart app')).toMatchObject({ action: 'block', rule: 'ssh-bots/no-sudo' });
    expect(decide('$(echo rm) -rf /')).toMatchObject({ action: 'block', rule: 'ssh-bots/opaque' });
    expect(decide("ls 'x")).toMatchObject({ action: 'block', rule: 'ssh-bots/opaque' });
  });
});
