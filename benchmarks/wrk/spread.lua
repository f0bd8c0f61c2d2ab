-- wrk script: every request names a tenant (X-AppID) and, when the line has one, that tenant's user token.
-- Usage: wrk -s spread.lua ... URL -- FILE, where FILE has one "APPID TOKEN" (or "APPID -") per line.
-- Each thread starts at a random line and takes the lines in turn, so requests spread evenly over them.
local entries = {}
local next_index = 1

function init(args)
  for line in io.lines(args[1]) do
    local app_id, token = line:match("^(%S+)%s+(%S+)$")
    if app_id then
      entries[#entries + 1] = { app_id, token }
    end
  end
  math.randomseed(os.time())
  next_index = math.random(#entries)
end

function request()
  local entry = entries[next_index]
  next_index = next_index % #entries + 1
  local headers = { ["X-AppID"] = entry[1] }
  if entry[2] ~= "-" then
    headers["Authorization"] = "Bearer " .. entry[2]
  end
  return wrk.format("GET", wrk.path, headers)
end
