import { Body, Controller, Get, HttpCode, HttpException, Param, Post, Put, UseGuards } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ErrorCodes } from '@shardcast/contracts';
import { defaultProfile, DomainProfile } from '@shardcast/forecasting';
import { ForecasterStore } from '../persistence/forecaster-store';
import { ForecastScheduler } from '../forecasting/forecast-scheduler';
import { ApiKeyGuard } from './api-key.guard';
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
  ) {}

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
  @ApiOperation({ summary: 'Latest forecast per region: quantiles per step, model, backtest score, resource needs' })
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
    const keys = (await this.store.seriesKeys()).filter((k) => k.domain === domain);
    if (keys.length === 0) throw new HttpException({ code: ErrorCodes.NOT_FOUND, message: `no observed demand for ${domain}` }, 404);
    for (const key of keys) this.scheduler.markDirty(key, null);
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
