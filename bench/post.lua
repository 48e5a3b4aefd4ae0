-- wrk script: posts pre-signed deliveries (one "signature<TAB>body" per line of the
-- file named after `--`), cycling through them. Requests are formatted once.
local requests = {}
local index = 0

function init(args)
  local path = args[1] or "bench/out/deliveries.tsv"
  for line in io.lines(path) do
    local signature, body = line:match("^([^\t]+)\t(.*)$")
    if signature then
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = signature,
      }, body)
    end
  end
  index = math.random(#requests)
end

function request()
  index = index % #requests + 1
  return requests[index]
end
