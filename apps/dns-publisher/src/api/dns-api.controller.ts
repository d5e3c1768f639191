import { Body, Controller, Get, HttpException, Param, Put, Query, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ErrorCodes, normalizeDomain, RegionIdSchema } from '@shardcast/contracts';
import { clientSubnetOf, impactTable } from '@shardcast/dns';
import { ApiKeyGuard } from '@shardcast/platform';
import { DnsStore } from '../persistence/dns-store';
import { DomainPublisher } from '../publishing/domain-publisher';
import { ClientSubnetMap } from '../publishing/client-subnet-map';


const FailurePolicyBody = z.union([
  z.object({ mode: z.literal('open') }).strict(),
  z.object({ mode: z.literal('closed') }).strict(),
  z.object({ mode: z.literal('region'), region: RegionIdSchema }).strict(),
]);

/** Translates HTTP to the publisher's decisions; no logic of its own. */
@ApiTags('dns')
@ApiHeader({ name: 'x-api-key', required: true })
@UseGuards(ApiKeyGuard)
@Controller('v1/domains')
export class DnsApiController {
  constructor(
    private readonly publisher: DomainPublisher,
    private readonly store: DnsStore,
    private readonly subnets: ClientSubnetMap,
  ) {}

  @Get(':domain/answer')
  @ApiOperation({ summary: "What a client is answered for the domain: its region (from the subnet), the shards in failover order, the one answered, and why" })
  @ApiQuery({ name: 'subnet', required: true, description: 'the client: an IPv4 address or subnet (as EDNS Client Subnet carries it), e.g. 81.2.69.0/24' })
  async answer(@Param('domain') raw: string, @Query('subnet') subnet: unknown) {
    const domain = parseDomain(raw);
    if (typeof subnet !== 'string' || subnet.length === 0 || subnet.length > 64) throw bad('the query parameter subnet is required, once');
    const address = subnet.split('/')[0];
    if (isIP(address) === 0) throw bad(`subnet ${JSON.stringify(subnet)} is not an IP address or subnet`);
    const preview = await this.publisher.preview(domain);
    if (!preview.records || !preview.records.geo) throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `${domain} has no shard to answer with (no layout, released, or every shard warming)` }, 404);
    const entry = clientSubnetOf(this.subnets.subnets, address);
    const clientRegion = entry?.region ?? null;
    const decision = preview.records.decisions.find((d) => d.clientRegion === clientRegion) ?? null;
    // In a capacity split the client's own subnet decides which part answers it.
    const cidr = entry?.cidr ?? null;
    const part = decision?.split?.find((p) => cidr !== null && p.subnets.includes(cidr)) ?? null;
    const answered = part ? part.hostname : (decision?.answered ?? null);
    return {
      domain,
      subnet,
      clientRegion,
      // A client in no mapped region gets the fallback answer (static servers' answer too).
      order: decision?.order ?? null,
      answered,
      reason: decision?.reason ?? 'fallback',
      answer: (cidr !== null ? preview.records.geo.bySubnet?.[cidr] : undefined) ?? decision?.answer ?? preview.records.geo.fallback,
      // The allocator's split of the client region (capacity-aware answers): each shard's planned and given share, and the client's subnet.
      split: decision?.split ? { clientSubnet: cidr, parts: decision.split.map((p) => ({ hostname: p.hostname, target: p.target, share: p.share, subnets: p.subnets.length })) } : null,
      ttl: preview.records.geo.ttl,
    };
  }

  @Get(':domain/plan')
  @ApiOperation({ summary: 'Dry run: the record changes the domain needs now and the share of each client region\'s queries they move (nothing is applied)' })
  async plan(@Param('domain') raw: string) {
    const domain = parseDomain(raw);
    const preview = await this.publisher.preview(domain);
    return { domain, changes: preview.plan.changes, conflicts: preview.plan.conflicts, impact: preview.impact, table: impactTable(preview.impact) };
  }

  @Put(':domain/failure-policy')
  @ApiOperation({ summary: "The domain's failure policy when no shard is healthy: {mode: open | closed | region, region?}; republishes the domain" })
  async setFailurePolicy(@Param('domain') raw: string, @Body() body: unknown) {
    const domain = parseDomain(raw);
    const parsed = FailurePolicyBody.safeParse(body);
    if (!parsed.success) throw new HttpException({ code: ErrorCodes.REQUEST_INVALID, message: 'invalid failure policy', issues: parsed.error.issues.map((i) => `${i.path.join('.') || 'policy'}: ${i.message}`) }, 400);
    await this.store.setFailurePolicy(domain, parsed.data);
    const outcome = await this.publisher.publish(domain, { layoutVersion: null, eventId: null });
    return { domain, failure: parsed.data, changes: outcome.plan.changes.length };
  }
}

function bad(message: string): HttpException {
  return new HttpException({ code: ErrorCodes.REQUEST_INVALID, message }, 400);
}

function parseDomain(raw: string): string {
  const checked = normalizeDomain(raw);
  if (!checked.ok) throw bad(`invalid domain: ${checked.reason}`);
  return checked.domain;
}
