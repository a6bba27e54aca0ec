!> Example 01: load an exported climlearn model once and call it on a batch of columns.
!>
!> Build against the installed package and run (no LD_LIBRARY_PATH needed):
!>   gfortran main.f90 $(climlearn-config --fflags --libs) -o mlp_forward
!>   ./mlp_forward MODEL.pt NCOL INPUT.bin OUTPUT.bin
!> INPUT.bin holds x(nfeat, ncol) as raw float32 in Fortran order (what numpy writes
!> for a C-ordered array of shape (ncol, nfeat)); OUTPUT.bin receives y(nout, ncol).
program mlp_forward
  use, intrinsic :: iso_fortran_env, only: real32, int64, error_unit, output_unit
  use climlearn
  implicit none

  type(cl_model) :: model
  real(real32), allocatable :: x(:,:), y(:,:)
  integer(int64), allocatable :: in_shape(:), out_shape(:)
  character(len=1024) :: model_path, in_path, out_path, arg
  character(len=512) :: msg
  integer :: ncol, stat, unit

  if (command_argument_count() /= 4) then
    write (error_unit, '(a)') 'usage: mlp_forward MODEL NCOL INPUT.bin OUTPUT.bin'
    stop 2
  end if
  call get_command_argument(1, model_path)
  call get_command_argument(2, arg)
  read (arg, *) ncol
  call get_command_argument(3, in_path)
  call get_command_argument(4, out_path)

  ! Load once, outside any time loop; errors come back as a status, not an abort.
  call cl_model_load(model, trim(model_path), stat=stat, errmsg=msg)
  if (stat /= CL_OK) then
    write (error_unit, '(2a)') 'load failed: ', trim(msg)
    stop 1
  end if

  ! The model card tells the feature sizes; the batch (-1) is the LAST Fortran dimension.
  call cl_model_input_shape(model, 1, in_shape)
  call cl_model_output_shape(model, 1, out_shape)
  write (output_unit, '(5a)') 'model input  ', cl_model_input_name(model, 1), ' [', &
    cl_model_input_units(model, 1), ']'
  write (output_unit, '(5a)') 'model output ', cl_model_output_name(model, 1), ' [', &
    cl_model_output_units(model, 1), ']'

  allocate (x(in_shape(1), ncol), y(out_shape(1), ncol))
  open (newunit=unit, file=trim(in_path), access='stream', form='unformatted', status='old')
  read (unit) x
  close (unit)

  ! One call for all columns: x(nfeat, ncol) is the (ncol, nfeat) tensor the model sees.
  call cl_model_forward(model, x, y, stat=stat, errmsg=msg)
  if (stat /= CL_OK) then
    write (error_unit, '(2a)') 'forward failed: ', trim(msg)
    stop 1
  end if

  open (newunit=unit, file=trim(out_path), access='stream', form='unformatted', &
        status='replace')
  write (unit) y
  close (unit)
  call cl_model_free(model)
end program mlp_forward
