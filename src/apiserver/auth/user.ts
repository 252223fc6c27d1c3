// Who made a request, as authentication establishes it (upstream's user.Info).
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const anonymousUser: UserInfo = {
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
};

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook before any route runs. */
    user: UserInfo;
  }
}
