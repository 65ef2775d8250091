/**
 * From a classified statement to what policy decides on, at the moment of the decision: the facts per
 * statement and, when the gateway cannot let it run at all, the refusal. Kept apart from the classifier
 * (which is stateless and cached by shape) because what a statement means can depend on the session:
 * the objects its names resolve to and the functions it calls.
 */
import type { CommandFacts } from '../../policy/engine.ts';
import type { Classification } from '../../sql/index.ts';
import { integrityRefusal, type Refusal } from './integrity.ts';

export interface AnalyzedCommand {
  facts: CommandFacts[];
  refusal: Refusal | undefined;
}

export class SessionAnalyzer {
  /** Loads whatever analysis needs and does not have yet; resolves at once when nothing is missing. */
  async prepare(_c: Classification): Promise<void> {}

  analyze(c: Classification): AnalyzedCommand {
    const facts = c.statements.map((s) => ({ class: s.class, command: s.command, tags: s.tags, tables: s.tables }));
    return { facts, refusal: integrityRefusal(c) };
  }
}
