!> Test driver: with stat absent, an error stops the program with the message.
!> usage: stop_on_error MISSING_PATH
program stop_on_error
  use climlearn
  implicit none
  type(cl_model) :: model
  character(len=1024) :: path
  call get_command_argument(1, path)
  call cl_model_load(model, trim(path))
  print '(a)', 'NOT REACHED'
end program stop_on_error
