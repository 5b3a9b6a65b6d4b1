" Writ policy files, for Vim and for Neovim before 0.8 (ftdetect/writ.lua does the same).
autocmd BufNewFile,BufRead *.writ setfiletype writ
