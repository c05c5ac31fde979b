-- wrk script: every request a new, correctly signed WeChat text message (plaintext mode).
-- wrk's Lua has no SHA-1, so the harness writes the signatures to $BENCH_DATA, one request a
-- line: "<timestamp> <nonce> <signature>". Arguments: threads, users, openid prefix, MsgId base.
-- Users alternate "配偶" and "上一步": for the product each is a step of the binding flow (the
-- relationship chosen, then taken back), for the peers a message to echo.

local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  threads, users, prefix, base = tonumber(args[1]), tonumber(args[2]), args[3], tonumber(args[4])
  lines = {}
  for line in io.lines(os.getenv("BENCH_DATA")) do lines[#lines + 1] = line end
  i = id - 1  -- this thread sends requests id-1, id-1+threads, id-1+2*threads, …
end

local BODY = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"
  .. "<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>"
  .. "<MsgId>%d</MsgId></xml>"

function request()
  local n = i % #lines + 1  -- wraps only when a run outlasts its data: the harness checks
  local timestamp, nonce, signature = lines[n]:match("(%S+) (%S+) (%S+)")
  local openid = prefix .. (i % users)
  local text = (math.floor(i / users) % 2 == 0) and "配偶" or "上一步"
  i = i + threads
  return wrk.format("POST", "/wechat?signature=" .. signature .. "&timestamp=" .. timestamp .. "&nonce=" .. nonce
                    .. "&openid=" .. openid, {["Content-Type"] = "text/xml"},
                    string.format(BODY, openid, timestamp, text, base + n))
end

-- Paced runs (latency at a given rate): each connection waits this long before each request.
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  function delay() return pause end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
