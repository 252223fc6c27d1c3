// Image reference checks shared by every runtime, so they all refuse the same names.

// [registry[:port]/]path[:tag][@digest], path components lower case (the distribution grammar, simplified).
const REFERENCE =
  /^(?:(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

export function isValidReference(ref: string): boolean {
  return ref.length <= 255 && REFERENCE.test(ref);
}

export function invalidReferenceMessage(ref: string): string {
  return `Failed to apply default image tag "${ref}": couldn't parse image name "${ref}": invalid reference format`;
}

export function neverPullMessage(ref: string): string {
  return `Container image "${ref}" is not present with pull policy of Never`;
}
