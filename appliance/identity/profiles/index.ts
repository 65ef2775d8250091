import type { ProfileName } from '../config.ts';
import { generic } from './generic.ts';
import { githubActions } from './github-actions.ts';
import type { Profile } from './profile.ts';
import { spiffe } from './spiffe.ts';

export type { Profile, ProfileResult } from './profile.ts';

export const PROFILE_MAPPERS: Record<ProfileName, Profile> = {
  'github-actions': githubActions,
  spiffe,
  generic,
};
