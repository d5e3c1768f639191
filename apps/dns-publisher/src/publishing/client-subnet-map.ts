import { ClientSubnet } from '@shardcast/dns';

/** The client subnet map as an injectable (a class token: Nest injects by type). */
export class ClientSubnetMap {
  constructor(readonly subnets: readonly ClientSubnet[]) {}
}
