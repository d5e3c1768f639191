import { Body, Controller, Delete, Get, HttpCode, HttpException, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '@shardcast/platform';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DomainRegisteredSchema, ErrorCodes, RegistrationFieldsSchema, ShardcastError } from '@shardcast/contracts';
import { defaultProfile, DomainProfile } from '@shardcast/forecasting';
import { ForecasterStore } from '../persistence/forecaster-store';
import { ForecastScheduler } from '../forecasting/forecast-scheduler';
import { DomainRegistry } from '../registration/domain-registry';
import { parseDomainParam, parseRequest, ProfileRequestSchema } from './request-validation';

/** Translates HTTP to the store and the scheduler; no logic of its own. */
@ApiTags('forecaster')
@ApiHeader({ name: 'x-api-key', required: true })
@UseGuards(ApiKeyGuard)
@Controller('v1')
export class ForecasterApiController {
  constructor(
    private readonly store: ForecasterStore,
    private readonly scheduler: ForecastScheduler,
    private readonly registry: DomainRegistry,
  ) {}

  @Put('domains/:domain')
  @ApiOperation({ summary: 'Register a domain (app type, tier, user base, markets), also on domain.registered.v1: answers once a forecast for every market region is published' })
  @ApiBody({ schema: z.toJSONSchema(RegistrationFieldsSchema, { io: 'input' }) as object })
  async register(@Param('domain') rawDomain: string, @Body() body: unknown) {
    const domain = parseDomainParam(rawDomain);
    const fields = parseRequest(RegistrationFieldsSchema, body, 'registration');
    const registration = parseRequest(DomainRegisteredSchema, { ...fields, domain, registeredAt: new Date().toISOString() }, 'registration');
    try {
      const regions = await this.registry.register(registration, null, { publish: true });
      return { domain, registration, regions, forecasts: await this.store.forecasts(domain) };
    } catch (err) {
      if (err instanceof ShardcastError && err.code === ErrorCodes.REQUEST_INVALID) throw new HttpException({ code: err.code, message: err.message }, 400);
      throw err;
    }
  }

  @Get('domains/:domain')
  @ApiOperation({ summary: "A domain's registration" })
  async getRegistration(@Param('domain') rawDomain: string) {
    const domain = parseDomainParam(rawDomain);
    const registration = await this.store.registration(domain);
    if (!registration) throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `${domain} is not registered` }, 404);
    return { domain, registration, regions: this.registry.regionsOf(registration) };
  }

  @Delete('domains/:domain')
  @ApiOperation({ summary: 'Deregister a domain: its forecasts stop, a deregistered event is published and a tombstone on domain.registered.v1' })
  async deregister(@Param('domain') rawDomain: string) {
    const domain = parseDomainParam(rawDomain);
    if (!(await this.registry.deregister(domain, null, { publish: true }))) throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `${domain} is not registered or was deregistered already` }, 404);
    return { domain, deregistered: true };
  }

  @Put('domains/:domain/profile')
  @ApiOperation({ summary: "Register or update a domain's app type, tier and per-request cost" })
  @ApiBody({ schema: z.toJSONSchema(ProfileRequestSchema, { io: 'input' }) as object })
  async putProfile(@Param('domain') rawDomain: string, @Body() body: unknown): Promise<{ domain: string; profile: DomainProfile }> {
    const domain = parseDomainParam(rawDomain);
    const request = parseRequest(ProfileRequestSchema, body, 'profile');
    const profile: DomainProfile = { ...defaultProfile(request.appType, request.tier), ...stripUndefined(request) };
    await this.store.saveProfile(domain, profile);
    return { domain, profile };
  }

  @Get('domains/:domain/profile')
  @ApiOperation({ summary: "A domain's profile (the default one if none was registered)" })
  async getProfile(@Param('domain') rawDomain: string): Promise<{ domain: string; profile: DomainProfile | null }> {
    const domain = parseDomainParam(rawDomain);
    return { domain, profile: await this.store.profile(domain) };
  }

  @Get('domains/:domain/forecasts')
  @ApiOperation({ summary: 'Latest published forecast per region: quantile arrays, model, backtest score, prior weight, per-request cost' })
  async getForecasts(@Param('domain') rawDomain: string) {
    const domain = parseDomainParam(rawDomain);
    const forecasts = await this.store.forecasts(domain);
    if (forecasts.length === 0) throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `no forecast for ${domain} yet` }, 404);
    return { domain, regions: forecasts };
  }

  @Post('domains/:domain/forecasts/refresh')
  @HttpCode(200)
  @ApiOperation({ summary: "Forecast every region of a domain now; answers when the forecasts are stored" })
  async refresh(@Param('domain') rawDomain: string) {
    const domain = parseDomainParam(rawDomain);
    const keys = await this.store.seriesKeys(domain);
    if (keys.length === 0) throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `${domain} is neither registered nor observed` }, 404);
    for (const key of keys) this.scheduler.markDirty(key, null, 'requested');
    await this.scheduler.drain();
    return { domain, regions: await this.store.forecasts(domain) };
  }

  @Get('accuracy')
  @ApiOperation({ summary: 'Selected model and backtest accuracy (MASE) per series, against seasonal naive' })
  async accuracy() {
    return { series: await this.store.accuracy() };
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
