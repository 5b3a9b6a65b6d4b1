" Writ: comments, for `gc`/`gcc` (Neovim 0.10+, vim-commentary) and for `gq` on doc comments.
if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

setlocal commentstring=//\ %s
setlocal comments=s1:/*,mb:*,ex:*/,:///,://
setlocal formatoptions-=t formatoptions+=croql
setlocal iskeyword=@,48-57,_,192-255
setlocal expandtab shiftwidth=2 softtabstop=2

let b:undo_ftplugin = 'setlocal commentstring< comments< formatoptions< iskeyword< expandtab< shiftwidth< softtabstop<'
