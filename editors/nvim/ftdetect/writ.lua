-- Writ policy files: `*.writ` get the filetype `writ`.
vim.filetype.add({ extension = { writ = 'writ' } })
