" Checks editors/nvim/syntax/writ.vim on fixture.writ: each Expect() names a line, a piece
" of text on it and the syntax group that must cover the text's first character.
" Run by run.sh; writes failures to $WRIT_SYNTAX_OUT and exits non-zero on any.
set nocompatible
let s:here = expand('<sfile>:p:h')
let &rtp = fnamemodify(s:here, ':h') . ',' . &rtp
filetype plugin on
syntax on
execute 'edit ' . fnameescape(s:here . '/fixture.writ')

let s:failures = []
function! s:Expect(lnum, text, group, ...) abort
  let nth = a:0 ? a:1 : 1
  let col = 0
  for _ in range(nth)
    let col = stridx(getline(a:lnum), a:text, col == 0 ? 0 : col) + 1
    if col == 0
      call add(s:failures, printf('line %d: no %s', a:lnum, a:text))
      return
    endif
  endfor
  let got = synIDattr(synID(a:lnum, col, 1), 'name')
  if got !=# a:group
    call add(s:failures, printf('line %d: %s is %s, expected %s', a:lnum, a:text, got, a:group))
  endif
endfunction

if &filetype !=# 'writ'
  call add(s:failures, 'filetype is ' . &filetype)
endif
if &commentstring !=# '// %s'
  call add(s:failures, 'commentstring is ' . &commentstring)
endif
call s:Expect(1, '///', 'writDocComment')
call s:Expect(1, '`code`', 'writDocRaw')
call s:Expect(2, '//', 'writComment')
call s:Expect(4, 'comment', 'writBlockComment')
call s:Expect(5, 'import', 'writImport')
call s:Expect(6, 'schema', 'writDeclaration')
call s:Expect(7, 'enum', 'writDeclaration')
call s:Expect(8, 'entity', 'writDeclaration')
call s:Expect(8, 'Team', 'writType')
call s:Expect(8, 'Int', 'writBuiltinType')
call s:Expect(9, 'context', 'writDeclaration')
call s:Expect(9, 'Timestamp', 'writBuiltinType')
call s:Expect(10, 'action', 'writDeclaration')
call s:Expect(11, 'action', 'writDeclaration')
call s:Expect(11, 'group', 'writDeclaration')
call s:Expect(13, 'intent', 'writDeclaration')
call s:Expect(13, '\"', 'writEscape')
call s:Expect(13, '\n', 'writEscape')
call s:Expect(13, 'Read', 'writString')
call s:Expect(13, 'on', 'writTarget')
call s:Expect(13, 'ToolGroup', 'writEntityType')
call s:Expect(13, 'ticketing', 'writString')
call s:Expect(14, '@id', 'writAnnotation')
call s:Expect(14, 'agent-tools', 'writString')
call s:Expect(15, 'permit', 'writEffect')
call s:Expect(15, 'in', 'writOperatorWord')
call s:Expect(15, 'Team', 'writEntityType')
call s:Expect(15, 'to', 'writTarget')
call s:Expect(16, 'when', 'writClause')
call s:Expect(16, 'all', 'writQuantifier')
call s:Expect(16, 'on_behalf_of', 'writLanguageVar')
call s:Expect(16, 'has', 'writOperatorWord')
call s:Expect(16, 'context', 'writLanguageVar')
call s:Expect(16, 'timestamp', 'writConstructor')
call s:Expect(17, 'unless', 'writClause')
call s:Expect(17, 'intent', 'writLanguageVar')
call s:Expect(17, 'none', 'writConstant')
call s:Expect(17, 'like', 'writOperatorWord')
call s:Expect(17, '10000', 'writInteger')
call s:Expect(18, 'because', 'writClause')
call s:Expect(18, '\q', 'writBadEscape')
call s:Expect(19, 'grant', 'writClause')
call s:Expect(19, '1h30m', 'writDuration')
call s:Expect(19, '500ms', 'writDuration')
call s:Expect(19, '30m1h', 'writInvalidNumber')
call s:Expect(19, 'true', 'writBoolean')

call writefile(s:failures, $WRIT_SYNTAX_OUT)
if empty(s:failures)
  qall!
endif
cquit!
