// Images: presence checks, listing, and pulls that fail the way the kubelet reports them.
import type Docker from 'dockerode';
import { ImagePullError, type ImageInfo, type PullPolicy } from '../types.ts';
import { invalidReferenceMessage, isValidReference, neverPullMessage } from '../reference.ts';
import { drainProgress, engineMessage, statusOf } from './streams.ts';

/** What the engine's pull API wants: an untagged name would pull every tag, so default to "latest". */
export function pullArgs(ref: string): { fromImage: string; tag?: string } {
  if (ref.includes('@')) return { fromImage: ref };
  const colon = ref.lastIndexOf(':');
  // A colon before the last "/" belongs to a registry port (localhost:5000/app), not to a tag.
  if (colon > ref.lastIndexOf('/')) return { fromImage: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { fromImage: ref, tag: 'latest' };
}

export async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export async function pullImage(docker: Docker, ref: string, policy: PullPolicy, signal?: AbortSignal): Promise<string> {
  if (!isValidReference(ref)) throw new ImagePullError('InvalidImageName', ref, invalidReferenceMessage(ref));
  if (policy !== 'Always') {
    const id = await imageId(docker, ref);
    if (id) return id;
    if (policy === 'Never') {
      throw new ImagePullError('ErrImageNeverPull', ref, neverPullMessage(ref));
    }
  }
  try {
    const args = pullArgs(ref);
    const stream = await docker.pull(args.fromImage, { ...(args.tag ? { tag: args.tag } : {}), abortSignal: signal });
    await drainProgress(stream);
  } catch (err) {
    throw new ImagePullError('ErrImagePull', ref, `Failed to pull image "${ref}": ${engineMessage(err)}`);
  }
  const id = await imageId(docker, ref);
  if (!id) throw new ImagePullError('ErrImagePull', ref, `Failed to pull image "${ref}": the engine reported success but has no such image`);
  return id;
}

export async function listImages(docker: Docker): Promise<ImageInfo[]> {
  const images = await docker.listImages();
  return images.map((i) => ({
    id: i.Id,
    repoTags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    repoDigests: (i.RepoDigests ?? []).filter((d) => d !== '<none>@<none>'),
    sizeBytes: i.Size,
  }));
}
