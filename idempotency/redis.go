package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for RedisConfig.
const (
	// DefaultRedisPrefix namespaces claim keys.
	DefaultRedisPrefix = "praxis:idem:"
	// DefaultRedisRecordsPrefix namespaces Records keys.
	DefaultRedisRecordsPrefix = "praxis:records:"
	// DefaultAttemptsTTL is how long a claimed key outlives its claim, so a
	// successor still sees how many holders came before it.
	DefaultAttemptsTTL = 24 * time.Hour
)

// RedisConfig configures the Redis store.
type RedisConfig struct {
	// Prefix goes before every claim key (default DefaultRedisPrefix). Do
	// not put a {hash tag} in it: under Redis Cluster that would pin every
	// key to one slot. Each script touches exactly one key, so keys spread
	// over the cluster by themselves.
	Prefix string
	// RecordsPrefix goes before every Records key (default
	// DefaultRedisRecordsPrefix). It must not overlap Prefix.
	RecordsPrefix string
	// AutoPipeline sends the scripts of concurrent callers as pipelines
	// (a few flusher goroutines, no added latency when idle): far fewer
	// syscalls on both sides at high rates. Call Close to stop the flushers.
	AutoPipeline bool
	// Flushers is how many pipelines may be in flight at once with
	// AutoPipeline (default 4).
	Flushers int
	// AttemptsTTL is how long a claimed (or released) key is kept after its
	// claim expires, so the attempts counter survives for a successor to
	// see; a holder that neither completes nor releases leaves its key for
	// claimTTL+AttemptsTTL (default DefaultAttemptsTTL).
	AttemptsTTL time.Duration
}

func (c *RedisConfig) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultRedisPrefix
	}
	if c.RecordsPrefix == "" {
		c.RecordsPrefix = DefaultRedisRecordsPrefix
	}
	if c.AttemptsTTL == 0 {
		c.AttemptsTTL = DefaultAttemptsTTL
	}
}

// Validate reports a configuration the store cannot run with.
func (c RedisConfig) Validate() error {
	if strings.HasPrefix(c.Prefix, c.RecordsPrefix) || strings.HasPrefix(c.RecordsPrefix, c.Prefix) {
		return fmt.Errorf("idempotency: redis Prefix %q and RecordsPrefix %q overlap; claim keys and records would collide", c.Prefix, c.RecordsPrefix)
	}
	if c.AttemptsTTL < time.Millisecond {
		return fmt.Errorf("idempotency: redis AttemptsTTL must be at least 1ms, got %v", c.AttemptsTTL)
	}
	return nil
}

// Redis is the production Store and Records: many replicas share one Redis
// (or Redis Cluster). Every operation is one round trip (a Lua script on
// one key), and claim expiry is judged by the Redis server's clock, so
// replicas with skewed clocks agree. Needs Redis 7 (EVAL_RO, KEEPTTL).
type Redis struct {
	rdb         redis.UniversalClient
	prefix      string
	recPrefix   string
	attemptsTTL int64 // ms
	pipe        *autoPipeline
}

var (
	_ Store   = (*Redis)(nil)
	_ Records = (*Redis)(nil)
)

// NewRedis returns a store on client, which the caller keeps and closes.
func NewRedis(client redis.UniversalClient, cfg RedisConfig) (*Redis, error) {
	if client == nil {
		return nil, errors.New("idempotency: NewRedis: nil redis client")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ms, err := ttlMillis("AttemptsTTL", cfg.AttemptsTTL)
	if err != nil {
		return nil, err
	}
	s := &Redis{rdb: client, prefix: cfg.Prefix, recPrefix: cfg.RecordsPrefix, attemptsTTL: ms}
	if cfg.AutoPipeline {
		flushers := cfg.Flushers
		if flushers <= 0 {
			flushers = 4
		}
		s.pipe = newAutoPipeline(client, flushers, 256)
	}
	return s, nil
}

// Close stops the auto-pipeline flushers, if any; the client stays open.
func (s *Redis) Close() error {
	if s.pipe != nil {
		s.pipe.close()
	}
	return nil
}

// run executes a claim script, through the auto-pipeline when enabled.
func (s *Redis) run(ctx context.Context, script *redis.Script, key string, args ...any) *redis.Cmd {
	if s.pipe != nil {
		return s.pipe.run(ctx, script, []string{key}, args...)
	}
	return script.Run(ctx, s.rdb, []string{key}, args...)
}

// luaNow and luaParse are shared by the claim scripts. A record is
//
//	p<attempts>:<expires ms>:<token>  or  d<attempts>:0:<token>:<value>
//
// (see claimRecord); expires 0 marks a released claim.
const (
	luaNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`
	luaParse = `
local function parse(v)
  local kind = string.sub(v, 1, 1)
  local c1 = string.find(v, ':', 2, true)
  local c2 = c1 and string.find(v, ':', c1 + 1, true)
  if (kind ~= 'p' and kind ~= 'd') or not c2 then
    return nil
  end
  local token, c3
  if kind == 'p' then
    token = string.sub(v, c2 + 1)
  else
    c3 = string.find(v, ':', c2 + 1, true)
    if not c3 then return nil end
    token = string.sub(v, c2 + 1, c3 - 1)
  end
  local exp = tonumber(string.sub(v, c1 + 1, c2 - 1))
  if not exp then return nil end
  return kind, string.sub(v, 2, c1 - 1), exp, token
end
local corrupt = 'idempotency: key holds a record this store did not write'
local function meta(n)
  local a, s, c, l = string.match(n, '^(%d+)/(%d+)/(%d+)/(%d+)$')
  if a then return tonumber(a), tonumber(s), tonumber(c), tonumber(l) end
  a = tonumber(n)
  if not a then return nil end
  if a > 1 then return a, 1, a - 1, 0 end
  return a, 0, 0, 0
end
local function fmtmeta(a, s, c, l)
  if a == 1 and s == 0 and c == 0 and l == 0 then return string.format('%d', a) end
  return string.format('%d/%d/%d/%d', a, s, c, l)
end
`
)

// claimScript: KEYS[1] key; ARGV claim ms, key TTL ms, new token. Returns
// "<server now ms>|<record now stored>": ours when acquired, the holder's
// when busy, the done record when done. A takeover keeps the earlier
// holders' call marker and counters, and the key's longer TTL.
var claimScript = redis.NewScript(luaNow + luaParse + `
local v = redis.call('GET', KEYS[1])
local a, s, c, l = 1, 0, 0, 0
local ttl = tonumber(ARGV[2])
if v then
  local kind, n, exp = parse(v)
  if not kind then return redis.error_reply(corrupt) end
  if kind == 'd' or exp > now then return string.format('%d|', now) .. v end
  a, s, c, l = meta(n)
  if not a then return redis.error_reply(corrupt) end
  a = a + 1
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > ttl then ttl = pttl end
end
local rec = string.format('p%s:%d:%s', fmtmeta(a, s, c, l), now + tonumber(ARGV[1]), ARGV[3])
redis.call('SET', KEYS[1], rec, 'PX', ttl)
return string.format('%d|', now) .. rec
`)

// renewScript: KEYS[1] key; ARGV token, lease ms, op ("r" renew, "c" call,
// "l" lookup, "u" retract a call never sent), keep ms, attempts TTL ms. Extends the claim to at least now
// + lease if the token still holds it (unreleased; expired is fine while
// nobody took over), records the call or lookup, and keeps the key at least
// keep ms after a call. Returns "<now>|<record>", or "" when not the holder.
var renewScript = redis.NewScript(luaNow + luaParse + `
local v = redis.call('GET', KEYS[1])
if not v then return '' end
local kind, n, exp, token = parse(v)
if not kind then return redis.error_reply(corrupt) end
if kind ~= 'p' or token ~= ARGV[1] or exp == 0 then return '' end
local a, s, c, l = meta(n)
if not a then return redis.error_reply(corrupt) end
if ARGV[3] == 'c' then
  s = now
  c = c + 1
elseif ARGV[3] == 'l' then
  l = l + 1
elseif ARGV[3] == 'u' then
  if c > 0 then c = c - 1 end
  if c == 0 then s = 0 end
end
local e = now + tonumber(ARGV[2])
if exp > e then e = exp end
local ttl = e - now + tonumber(ARGV[5])
if ARGV[3] == 'c' and tonumber(ARGV[4]) > ttl then ttl = tonumber(ARGV[4]) end
local pttl = redis.call('PTTL', KEYS[1])
if pttl > ttl then ttl = pttl end
local rec = string.format('p%s:%d:%s', fmtmeta(a, s, c, l), e, token)
redis.call('SET', KEYS[1], rec, 'PX', ttl)
return string.format('%d|', now) .. rec
`)

// completeScript: KEYS[1] key; ARGV token, value, done TTL ms. Returns 1
// when the key is now done by this token (also on a retried Complete), 0
// when the token no longer holds the key.
var completeScript = redis.NewScript(luaParse + `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local kind, n, exp, token = parse(v)
if not kind then return redis.error_reply(corrupt) end
if token ~= ARGV[1] then return 0 end
if kind == 'd' then return 1 end
if exp == 0 then return 0 end
redis.call('SET', KEYS[1], 'd' .. n .. ':0:' .. token .. ':' .. ARGV[2], 'PX', ARGV[3])
return 1
`)

// releaseScript: KEYS[1] key; ARGV token. Marks the claim expired (expires
// 0) keeping attempts and the key's TTL; 1 on success (also when already
// released by this token), 0 when the token no longer holds the key.
var releaseScript = redis.NewScript(luaParse + `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local kind, n, exp, token = parse(v)
if not kind then return redis.error_reply(corrupt) end
if kind ~= 'p' or token ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'p' .. n .. ':0:' .. token, 'KEEPTTL')
return 1
`)

// getScript: KEYS[1] key. Returns {server now ms, record} or {now}.
var getScript = redis.NewScript(luaNow + `
local v = redis.call('GET', KEYS[1])
if v then return {now, v} end
return {now}
`)

// putRecordScript: KEYS[1] key; ARGV expected version ("0": absent), value,
// TTL ms ("0": none). Stores "<version>:<value>"; returns the new version,
// or 0 on a version conflict.
var putRecordScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
local cur = '0'
if v then
  local c = string.find(v, ':', 1, true)
  if not c then return redis.error_reply('idempotency: key holds a record this store did not write') end
  cur = string.sub(v, 1, c - 1)
end
if cur ~= ARGV[1] then return 0 end
local nv = string.format('%d', tonumber(cur) + 1)
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], nv .. ':' .. ARGV[2])
else
  redis.call('SET', KEYS[1], nv .. ':' .. ARGV[2], 'PX', ARGV[3])
end
return tonumber(nv)
`)

// Claim acquires key for claimTTL, or reports it Busy or Done; one round trip.
func (s *Redis) Claim(ctx context.Context, key string, claimTTL time.Duration) (Claim, error) {
	if err := checkKey(key); err != nil {
		return Claim{}, fmt.Errorf("claim: %w", err)
	}
	ms, err := ttlMillis("claim TTL", claimTTL)
	if err != nil {
		return Claim{}, fmt.Errorf("claim %s: %w", keyRef(key), err)
	}
	token := newToken()
	raw, err := s.run(ctx, claimScript, s.prefix+key, ms, ms+s.attemptsTTL, token).Text()
	if err != nil {
		return Claim{}, fmt.Errorf("claim %s in redis: %w", keyRef(key), err)
	}
	now, rec, err := decodeTimedRecord(raw)
	if err != nil {
		return Claim{}, fmt.Errorf("claim %s in redis: %w", keyRef(key), err)
	}
	if !rec.done && rec.token == token {
		return rec.acquired(key, token, now), nil
	}
	return rec.asClaim(key), nil
}

// decodeTimedRecord splits a script's "<now ms>|<record>" answer.
func decodeTimedRecord(raw string) (int64, claimRecord, error) {
	i := strings.IndexByte(raw, '|')
	if i < 0 {
		return 0, claimRecord{}, errCorrupt
	}
	now, err := strconv.ParseInt(raw[:i], 10, 64)
	if err != nil {
		return 0, claimRecord{}, errCorrupt
	}
	rec, err := decodeClaimRecord(raw[i+1:])
	return now, rec, err
}

// Renew extends the holder's claim and records a call or lookup; one round trip.
func (s *Redis) Renew(ctx context.Context, c Claim, o RenewOptions) (Claim, error) {
	leaseMs, keepMs, err := checkRenew(c, o)
	if err != nil {
		return Claim{}, err
	}
	op := "r"
	switch {
	case o.Call:
		op = "c"
	case o.Lookup:
		op = "l"
	case o.Retract:
		op = "u"
	}
	raw, err := s.run(ctx, renewScript, s.prefix+c.Key, c.Token, leaseMs, op, keepMs, s.attemptsTTL).Text()
	if err != nil {
		return Claim{}, fmt.Errorf("renew %s in redis: %w", keyRef(c.Key), err)
	}
	if raw == "" {
		return Claim{}, fmt.Errorf("renew %s: %w", keyRef(c.Key), ErrNotHolder)
	}
	now, rec, err := decodeTimedRecord(raw)
	if err != nil {
		return Claim{}, fmt.Errorf("renew %s in redis: %w", keyRef(c.Key), err)
	}
	return rec.acquired(c.Key, c.Token, now), nil
}

// Complete marks the holder's key done with value for doneTTL.
func (s *Redis) Complete(ctx context.Context, c Claim, value []byte, doneTTL time.Duration) error {
	if err := checkClaim("complete", c); err != nil {
		return err
	}
	ms, err := ttlMillis("done TTL", doneTTL)
	if err != nil {
		return fmt.Errorf("complete %s: %w", keyRef(c.Key), err)
	}
	n, err := s.run(ctx, completeScript, s.prefix+c.Key, c.Token, value, ms).Int()
	if err != nil {
		return fmt.Errorf("complete %s in redis: %w", keyRef(c.Key), err)
	}
	if n != 1 {
		return fmt.Errorf("complete %s: %w", keyRef(c.Key), ErrNotHolder)
	}
	return nil
}

// Release gives the holder's key back; the next Claim acquires it at once.
func (s *Redis) Release(ctx context.Context, c Claim) error {
	if err := checkClaim("release", c); err != nil {
		return err
	}
	n, err := s.run(ctx, releaseScript, s.prefix+c.Key, c.Token).Int()
	if err != nil {
		return fmt.Errorf("release %s in redis: %w", keyRef(c.Key), err)
	}
	if n != 1 {
		return fmt.Errorf("release %s: %w", keyRef(c.Key), ErrNotHolder)
	}
	return nil
}

// Get reports a live claim (Busy) or a done key; ErrNotFound when the key is
// absent or its claim expired or was released (the next Claim acquires it).
func (s *Redis) Get(ctx context.Context, key string) (Record, error) {
	if err := checkKey(key); err != nil {
		return Record{}, fmt.Errorf("get: %w", err)
	}
	res, err := getScript.RunRO(ctx, s.rdb, []string{s.prefix + key}).Slice()
	if err != nil {
		return Record{}, fmt.Errorf("get %s from redis: %w", keyRef(key), err)
	}
	now, ok := res[0].(int64)
	if !ok {
		return Record{}, fmt.Errorf("get %s from redis: unexpected reply %T", keyRef(key), res[0])
	}
	if len(res) < 2 {
		return Record{}, fmt.Errorf("get %s: %w", keyRef(key), ErrNotFound)
	}
	raw, ok := res[1].(string)
	if !ok {
		return Record{}, fmt.Errorf("get %s from redis: unexpected reply %T", keyRef(key), res[1])
	}
	rec, err := decodeClaimRecord(raw)
	if err != nil {
		return Record{}, fmt.Errorf("get %s from redis: %w", keyRef(key), err)
	}
	if !rec.done && !rec.live(now) {
		return Record{}, fmt.Errorf("get %s: %w", keyRef(key), ErrNotFound)
	}
	return rec.asRecord(), nil
}

// Ping checks that Redis answers, for readiness.
func (s *Redis) Ping(ctx context.Context) error {
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// GetRecord returns a record's value and version, or ErrNotFound.
func (s *Redis) GetRecord(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := checkKey(key); err != nil {
		return nil, 0, fmt.Errorf("get record: %w", err)
	}
	raw, err := s.rdb.Get(ctx, s.recPrefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("get record %s: %w", keyRef(key), ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get record %s from redis: %w", keyRef(key), err)
	}
	i := strings.IndexByte(raw, ':')
	if i < 0 {
		return nil, 0, fmt.Errorf("get record %s from redis: %w", keyRef(key), errCorrupt)
	}
	version, err := strconv.ParseUint(raw[:i], 10, 64)
	if err != nil || version == 0 {
		return nil, 0, fmt.Errorf("get record %s from redis: %w", keyRef(key), errCorrupt)
	}
	return []byte(raw[i+1:]), version, nil
}

// PutRecord stores value if the record is still at version (0: absent).
func (s *Redis) PutRecord(ctx context.Context, key string, value []byte, version uint64, ttl time.Duration) (uint64, error) {
	if err := checkKey(key); err != nil {
		return 0, fmt.Errorf("put record: %w", err)
	}
	var ms int64
	if ttl != 0 {
		var err error
		if ms, err = ttlMillis("record TTL", ttl); err != nil {
			return 0, fmt.Errorf("put record %s: %w", keyRef(key), err)
		}
	}
	n, err := putRecordScript.Run(ctx, s.rdb, []string{s.recPrefix + key}, strconv.FormatUint(version, 10), value, ms).Int64()
	if err != nil {
		return 0, fmt.Errorf("put record %s in redis: %w", keyRef(key), err)
	}
	if n <= 0 {
		return 0, fmt.Errorf("put record %s at version %d: %w", keyRef(key), version, ErrVersionConflict)
	}
	return uint64(n), nil
}
