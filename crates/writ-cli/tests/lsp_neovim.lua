-- Driven by lsp_neovim.rs: Neovim (headless) opens a policy file with `writ lsp` attached,
-- breaks an attribute name by editing the buffer (so Neovim sends an incremental change),
-- reads the diagnostics, a hover and a completion list, jumps to a definition with
-- `vim.lsp.buf.definition()` (into another file), then opens a badly laid out file and
-- formats it through the server (`vim.lsp.buf.format`, or `formatting_sync` before Neovim
-- 0.8), and writes what it got back as JSON.
-- Works with Neovim 0.7 and later (vim.lsp.start_client + buf_attach_client).
local root = os.getenv("WRIT_ROOT")
local file = os.getenv("WRIT_FILE")
local messy = os.getenv("WRIT_MESSY")
local out = os.getenv("WRIT_OUT")
local writ = os.getenv("WRIT_BIN")
local result = { errors = {} }

local function finish()
  local f = io.open(out, "w")
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd("qa!")
end

local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  local id = vim.lsp.start_client({
    name = "writ",
    cmd = { writ, "lsp" },
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = "policies" } },
  })
  vim.lsp.buf_attach_client(buf, id)
  vim.wait(20000, function()
    local c = vim.lsp.get_client_by_id(id)
    return c ~= nil and c.initialized
  end, 20)

  -- Find `resource.sensitivity` and misspell the attribute.
  local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
  local row, col
  for i, l in ipairs(lines) do
    local s = string.find(l, "resource.sensitivity", 1, true)
    if s then
      row, col = i - 1, s - 1 + #"resource."
      break
    end
  end
  vim.api.nvim_buf_set_text(buf, row, col, row, col + #"sensitivity", { "sensitivty" })
  vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 20)
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(result.diagnostics, { lnum = d.lnum, col = d.col, message = d.message, code = d.code,
      severity = d.severity })
  end

  -- Hover on `context.risk` (the line after), completion after `resource.`.
  local risk_row, risk_col
  for i, l in ipairs(lines) do
    local s = string.find(l, "context.risk", 1, true)
    if s then
      risk_row, risk_col = i - 1, s - 1 + #"context.r"
      break
    end
  end
  local function params(r, c)
    return { textDocument = { uri = vim.uri_from_bufnr(buf) }, position = { line = r, character = c } }
  end
  local h = vim.lsp.buf_request_sync(buf, "textDocument/hover", params(risk_row, risk_col), 20000)
  for _, resp in pairs(h or {}) do
    if resp.result then result.hover = resp.result.contents.value end
    if resp.err then table.insert(result.errors, vim.inspect(resp.err)) end
  end
  local cpl = vim.lsp.buf_request_sync(buf, "textDocument/completion", params(row, col), 20000)
  result.completion = {}
  for _, resp in pairs(cpl or {}) do
    local items = resp.result and (resp.result.items or resp.result) or {}
    for _, it in ipairs(items) do table.insert(result.completion, it.label) end
    if resp.err then table.insert(result.errors, vim.inspect(resp.err)) end
  end

  -- Go to definition of `risk` in `context.risk`: Neovim opens the schema and moves the
  -- cursor to the field's declaration.
  vim.api.nvim_win_set_cursor(0, { risk_row + 1, risk_col })
  vim.lsp.buf.definition()
  vim.wait(20000, function() return vim.api.nvim_get_current_buf() ~= buf end, 20)
  local cursor = vim.api.nvim_win_get_cursor(0)
  result.definition = { file = vim.api.nvim_buf_get_name(0), line = cursor[1] - 1, col = cursor[2] }

  -- Format a badly laid out file: the buffer becomes what `writ fmt` writes.
  vim.cmd("edit " .. vim.fn.fnameescape(messy))
  local mbuf = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(mbuf, id)
  if vim.lsp.buf.format then
    vim.lsp.buf.format({ bufnr = mbuf, timeout_ms = 20000, async = false })
  else
    vim.lsp.buf.formatting_sync(nil, 20000)
  end
  local formatted = table.concat(vim.api.nvim_buf_get_lines(mbuf, 0, -1, false), "\n")
  if vim.api.nvim_buf_get_option(mbuf, "eol") then formatted = formatted .. "\n" end
  result.formatted = formatted
  vim.lsp.stop_client(id)
end)
if not ok then table.insert(result.errors, tostring(err)) end
finish()
