/** Tests read the Debian mirror from the host's apt sources at run time: no mirror host is written in the repo. */
import { pickHostMirror, readHostAptSources } from '../../src/recipe/mirror.js';
import { loadFamilies } from '../../src/recipe/recipe.js';

export async function hostDebianMirror(): Promise<string | undefined> {
  const debian = (await loadFamilies()).find((f) => f.vendor === 'debian');
  if (!debian) return undefined;
  return pickHostMirror(await readHostAptSources(), debian)?.url;
}
