" Vim syntax file for the Writ policy language (*.writ). A small subset of the VS Code
" grammar (editors/vscode/syntaxes/writ.tmLanguage.json): keywords, literals, comments,
" annotations, entity references and types. The language server adds the rest.
if exists('b:current_syntax')
  finish
endif

syn case match

syn keyword writEffect      permit forbid escalate
syn keyword writClause      when unless because grant
syn keyword writTarget      to on
syn keyword writDeclaration schema entity enum fn
syn keyword writImport      import
syn keyword writConditional if then else
syn keyword writQuantifier  all any
syn keyword writOperatorWord and or not in is has like
syn keyword writBoolean     true false
syn keyword writConstant    none
syn keyword writLanguageVar principal resource on_behalf_of
syn keyword writBuiltinType Bool Int String Duration Timestamp Ip Set Intent
syn keyword writConstructor timestamp ip duration
syn match   writLanguageVar "\<\%(action\|context\|intent\)\>"
syn match   writDeclaration "\<action\ze\s\+\h\w*\s*:[^:]"
syn match   writDeclaration "\<action\s\+group\>"
syn match   writDeclaration "\<context\ze\s*{"
syn match   writDeclaration "\<intent\ze\s\+\%(in\>\|is\>\|has\>\|like\>\|and\>\|or\>\)\@!\h"
syn match   writType        "\<\u\w*\>"
syn match   writField       "\.\s*\zs\h\w*"

syn match   writInteger     "\<\d\+\>"
syn match   writInvalidNumber "\<\d\+\h\w*\>"
syn match   writDuration    "\<\%(\d\+d\)\=\%(\d\+h\)\=\%(\d\+m\)\=\%(\d\+s\)\=\%(\d\+ms\)\=\>"

syn match   writEscape      +\\\%(["\\nt]\|u{\x\{1,6}}\)+ contained
syn match   writBadEscape   +\\\%(["\\nt]\|u{\x\{1,6}}\)\@!.\=+ contained
syn region  writString      start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ oneline contains=writEscape,writBadEscape
syn match   writEntityRef   "\<\h\w*\s*::\ze\s*\"" contains=writEntityType
syn match   writEntityType  "\<\h\w*" contained

syn match   writAnnotation  "@\s*\h\w*"

syn keyword writTodo        TODO FIXME XXX NOTE contained
syn match   writDocRaw      "`[^`]*`" contained
syn match   writComment     "//.*$" contains=writTodo
syn match   writDocComment  "///\%(/\)\@!.*$" contains=writTodo,writDocRaw
syn region  writBlockComment start="/\*" end="\*/" contains=writTodo

syn sync ccomment writBlockComment minlines=100

hi def link writEffect        Statement
hi def link writClause        Keyword
hi def link writTarget        Keyword
hi def link writDeclaration   Structure
hi def link writImport        Include
hi def link writConditional   Conditional
hi def link writQuantifier    Repeat
hi def link writOperatorWord  Operator
hi def link writBoolean       Boolean
hi def link writConstant      Constant
hi def link writLanguageVar   Identifier
hi def link writBuiltinType   Type
hi def link writType          Type
hi def link writEntityType    Type
hi def link writConstructor   Function
hi def link writField         Normal
hi def link writInteger       Number
hi def link writDuration      Number
hi def link writInvalidNumber Error
hi def link writString        String
hi def link writEscape        SpecialChar
hi def link writBadEscape     Error
hi def link writAnnotation    PreProc
hi def link writTodo          Todo
hi def link writDocRaw        SpecialComment
hi def link writComment       Comment
hi def link writDocComment    SpecialComment
hi def link writBlockComment  Comment

let b:current_syntax = 'writ'
