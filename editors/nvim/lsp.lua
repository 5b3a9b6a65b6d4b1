-- The Writ language server (`writ lsp`, stdio) for Neovim. Copy this into your init.lua, or
-- `dofile('/path/to/writ/editors/nvim/lsp.lua')` from it. Pair it with ftdetect/writ.lua
-- (or put editors/nvim on 'runtimepath'), which gives `*.writ` files the filetype `writ`.
local cmd = { 'writ', 'lsp' } -- or { '/path/to/writ', 'lsp' }

-- The workspace is every *.writ file under the root: the enclosing git repository, or the
-- file's own directory.
local root_markers = { '.git' }

if vim.fn.has('nvim-0.11') == 1 then
  vim.lsp.config('writ', { cmd = cmd, filetypes = { 'writ' }, root_markers = root_markers })
  vim.lsp.enable('writ')
else
  -- Neovim 0.8 to 0.10.
  vim.api.nvim_create_autocmd('FileType', {
    pattern = 'writ',
    callback = function(args)
      local file = vim.api.nvim_buf_get_name(args.buf)
      local marker = vim.fs.find(root_markers, { upward = true, path = vim.fs.dirname(file) })[1]
      vim.lsp.start({
        name = 'writ',
        cmd = cmd,
        root_dir = marker and vim.fs.dirname(marker) or vim.fs.dirname(file),
      })
    end,
  })
end
